/**
 * The MSC4388 channel routes of the Node fast path (`node-fast-path.ts`): the same steps, in the same
 * order, as `src/http/routes/msc4388.ts` on the same rendezvous service, without a Hono context.
 * Each answers the JSON text of a 200 or throws what the Hono route would throw.
 */
import type { IncomingMessage } from 'node:http'
import { readJsonObject } from '../http/body.ts'
import { parseWith } from '../http/openapi/fields.ts'
import { CREATE_BODY, WRITE_BODY } from '../http/routes/msc4388.ts'
import { refuseNavigation } from '../http/middleware/fetch-metadata.ts'
import type { Caller, RendezvousService } from '../services/rendezvous.ts'

/** What a route may look at in a request: its headers (lower-case names) and its body. */
export interface FastRequest {
  /** `Headers.get` over the request's headers (the fast path only takes requests without repeated headers). */
  headers: { get(name: string): string | null }
  /** The whole body; only asked for when `Content-Length` is declared and within the cap. */
  arrayBuffer(): Promise<ArrayBuffer>
  /** Whether the body was read (an unread one is drained after the answer). */
  bodyRead: boolean
}

/** Reads a request body of declared length, at most `maxBytes` (the caller checked the declaration). */
const readBody = (incoming: IncomingMessage): Promise<ArrayBuffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let total = 0
    incoming.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      total += chunk.length
    })
    incoming.once('end', () => {
      const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
      resolve(whole.buffer.slice(whole.byteOffset, whole.byteOffset + whole.byteLength) as ArrayBuffer)
    })
    incoming.once('error', reject)
    incoming.once('aborted', () => reject(new Error('request aborted')))
  })

/**
 * The request view the routes and the body helpers read (a `Request` in all they use of one): its own
 * `headers`, so a request costs one object and no closures.
 */
class NodeRequest implements FastRequest {
  bodyRead = false
  readonly headers: { get(name: string): string | null } = this
  readonly #incoming: IncomingMessage
  constructor(incoming: IncomingMessage) {
    this.#incoming = incoming
  }
  get(name: string): string | null {
    return (this.#incoming.headers[name] as string | undefined) ?? null
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyRead = true
    return readBody(this.#incoming)
  }
}

/** The request view of `incoming`. */
export const fastRequest = (incoming: IncomingMessage): FastRequest => new NodeRequest(incoming)

/** Where a route notes the channel id it has taken up (the access log names it from then on). */
export interface ChannelNote {
  channelId: string | undefined
}

/** The MSC4388 handlers on `rendezvous`, as `sequenceRoutes` builds them for `api: 'msc4388'`. */
export const msc4388FastRoutes = (rendezvous: RendezvousService, maxPayloadBytes: number) => {
  // As in sequenceRoutes: a JSON envelope may escape every payload byte, plus room for fields.
  const maxBodyBytes = maxPayloadBytes * 6 + 1024
  const asRequest = (request: FastRequest): Request => request as unknown as Request
  return {
    maxBodyBytes,
    async create(request: FastRequest, caller: Caller): Promise<string> {
      // The Hono route's schema: the same checks, in the same order, with the same errors.
      const { data } = parseWith(CREATE_BODY, await readJsonObject(asRequest(request), maxBodyBytes))
      const { record } = await rendezvous.create('msc4388', data, caller)
      return JSON.stringify({ id: record.id, sequence_token: record.token, expires_in_ms: rendezvous.remainingMs(record) })
    },
    async read(request: FastRequest, id: string, caller: Caller, note: ChannelNote): Promise<string> {
      refuseNavigation(asRequest(request).headers)
      note.channelId = id
      const { record } = await rendezvous.read('msc4388', id, caller, null)
      return JSON.stringify({ data: record.data, sequence_token: record.token, expires_in_ms: rendezvous.remainingMs(record) })
    },
    async write(request: FastRequest, id: string, caller: Caller, note: ChannelNote): Promise<string> {
      note.channelId = id
      const { sequence_token: token, data } = parseWith(WRITE_BODY, await readJsonObject(asRequest(request), maxBodyBytes))
      const result = await rendezvous.write('msc4388', id, data, token, caller, null)
      return JSON.stringify({ sequence_token: result.record.token })
    },
    async remove(_request: FastRequest, id: string, caller: Caller, note: ChannelNote): Promise<string> {
      note.channelId = id
      await rendezvous.remove('msc4388', id, caller, null)
      return '{}'
    },
  }
}
