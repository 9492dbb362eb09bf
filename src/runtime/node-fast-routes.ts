/**
 * The MSC4388 channel routes of the Node fast path (`node-fast-path.ts`): the same steps, in the same
 * order, as `src/http/routes/msc4388.ts` on the same rendezvous service, without a Hono context.
 * Each answers the JSON text of a 200 or throws what the Hono route would throw.
 */
import type { IncomingMessage } from 'node:http'
import type { ChannelRecord } from '../core/rendezvous/channel.ts'
import { checkJsonType, decodeUtf8, jsonObjectOf, readJsonObject } from '../http/body.ts'
import { parseWith } from '../http/openapi/fields.ts'
import { CREATE_BODY, WRITE_BODY } from '../http/routes/msc4388.ts'
import { refuseNavigation } from '../http/middleware/fetch-metadata.ts'
import type { Caller, RendezvousService } from '../services/rendezvous.ts'
import { thenNow, type Now, type RendezvousNow } from '../services/rendezvous-now.ts'
import { LINGER_MS, MAX_LINGER_BYTES } from './node-last-answer.ts'

/** What a route may look at in a request: its headers (lower-case names) and its body. */
export interface FastRequest {
  /** `Headers.get` over the request's headers (the fast path only takes requests without repeated headers). */
  headers: { get(name: string): string | null }
  /** The whole body; only asked for when `Content-Length` is declared and within the cap. */
  arrayBuffer(): Promise<ArrayBuffer>
  /** Whether the body was read (an unread one is drained after the answer). */
  bodyRead: boolean
  /** Reads the whole body into `sink` (without a promise). */
  readBody(sink: BodySink): void
}

/** Where a whole request body goes: once, the body or the failure to read it. */
export interface BodySink {
  body(bytes: Buffer): void
  failed(error: unknown): void
}

/** A body being read: its sink and the chunks so far (the first on its own: a small body is one chunk). */
interface BodyState {
  readonly sink: BodySink
  first: Buffer | undefined
  more: Buffer[] | undefined
  total: number
  settled: boolean
}

const READING = Symbol('qrelay body')
type Reading = IncomingMessage & { [READING]?: BodyState }

// The listeners are shared by every request (each finds its state on the request it is called on):
// no closures and no `once` wrappers per request. Each event comes at most once; `settled` keeps
// the sink from hearing twice all the same.
function onData(this: Reading, chunk: Buffer): void {
  const state = this[READING]!
  if (state.first === undefined) state.first = chunk
  else (state.more ??= [state.first]).push(chunk)
  state.total += chunk.length
}
function onEnd(this: Reading): void {
  const state = this[READING]!
  if (state.settled) return
  state.settled = true
  state.sink.body(state.more !== undefined ? Buffer.concat(state.more, state.total) : (state.first ?? Buffer.alloc(0)))
}
function onError(this: Reading, error: unknown): void {
  const state = this[READING]!
  if (state.settled) return
  state.settled = true
  state.sink.failed(error)
}
function onAborted(this: Reading): void {
  // The error the request was destroyed with (Node's ECONNRESET `aborted`), as the app's body read rejects with.
  onError.call(this, this.errored ?? new Error('request aborted'))
}

/**
 * How @hono/node-server names the length it adds after the app's headers: a response the route
 * returned is written from its cached parts (`Content-Length`), one the error handler made (which
 * Hono merges into a new `Response`) from that `Response` (`content-length`).
 */
export const RETURNED_LENGTH = 'Content-Length'
export const REBUILT_LENGTH = 'content-length'

const DECLARED_LENGTH = /^\d+$/

/**
 * Whether a request's framing is one the fast paths and the app read the same way: no repeated header,
 * no `Transfer-Encoding`, and, when `maxBodyBytes` is given, a declared `Content-Length` within it.
 */
export const plainFraming = (incoming: IncomingMessage, maxBodyBytes?: number): boolean => {
  const headers = incoming.headers
  if (incoming.rawHeaders.length !== 2 * Object.keys(headers).length) return false
  if (headers['transfer-encoding'] !== undefined) return false
  if (maxBodyBytes === undefined) return true
  const declared = headers['content-length']
  return declared !== undefined && DECLARED_LENGTH.test(declared) && Number(declared) <= maxBodyBytes
}

/**
 * What becomes of a request body the answer did not read (a refusal before the body, a DELETE that
 * declares one), as @hono/node-server's listener treats it: a body already received is left to node:http,
 * which discards it once the answer is finished; one still coming is read and discarded for at most
 * half a second and 64 MiB, then the connection is closed. Without the bound a client could trickle a
 * declared body (any length on a DELETE) until the request timeout and hold the connection that long.
 * Costs nothing on a request whose body is all there (the usual case); timers only for one still coming.
 * The adapter starts its half second when the answer's response closes (two timer turns later), this at
 * the answer: the same bound, a few milliseconds apart.
 */
export const drainUnread = (incoming: IncomingMessage): void => {
  if (incoming.complete) return
  let drained = 0
  const stop = (): void => {
    clearTimeout(timer)
    incoming.off('data', onData)
    incoming.off('end', stop)
    incoming.off('error', stop)
  }
  const close = (): void => {
    stop()
    const socket = incoming.socket
    if (socket !== null && !socket.destroyed) socket.destroySoon()
  }
  const onData = (chunk: Buffer): void => {
    drained += chunk.length
    if (drained > MAX_LINGER_BYTES) close()
  }
  const timer = setTimeout(close, LINGER_MS)
  timer.unref()
  incoming.on('data', onData)
  incoming.on('end', stop)
  incoming.on('error', stop)
  incoming.resume()
}

/** Reads a request body of declared length (the caller checked the declaration) into `sink`. */
const readBodyInto = (incoming: IncomingMessage, sink: BodySink): void => {
  ;(incoming as Reading)[READING] = { sink, first: undefined, more: undefined, total: 0, settled: false }
  incoming.on('data', onData)
  incoming.on('end', onEnd)
  incoming.on('error', onError)
  incoming.on('aborted', onAborted)
}

/** Reads a request body of declared length, at most `maxBytes` (the caller checked the declaration). */
const readBody = (incoming: IncomingMessage): Promise<ArrayBuffer> =>
  new Promise((resolve, reject) =>
    readBodyInto(incoming, {
      body: (whole) => resolve(whole.buffer.slice(whole.byteOffset, whole.byteOffset + whole.byteLength) as ArrayBuffer),
      failed: reject,
    }),
  )

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
  readBody(sink: BodySink): void {
    this.bodyRead = true
    readBodyInto(this.#incoming, sink)
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

/** Signs the channel ticket of a native create (`ticketIssuer` of `routes/tickets.ts`, without a Hono context). */
export type IssueTicket = (record: ChannelRecord, origin: string, clientAddress: string) => Promise<string>

/**
 * `POST /v1/rendezvous` as `sequenceRoutes` builds it for `api: 'native'`: the MSC4388 create's steps,
 * then the creator secret and (with `issueTicket`) the channel ticket, in the Hono route's key order.
 */
export const nativeFastCreate =
  (rendezvous: RendezvousService, maxBodyBytes: number, issueTicket: IssueTicket | undefined) =>
  async (request: FastRequest, caller: Caller, origin: string, clientAddress: string): Promise<string> => {
    const { data } = parseWith(CREATE_BODY, await readJsonObject(request as unknown as Request, maxBodyBytes))
    const { record, creatorSecret } = await rendezvous.create('native', data, caller)
    const answer: Record<string, unknown> = { id: record.id, sequence_token: record.token, expires_in_ms: rendezvous.remainingMs(record) }
    if (creatorSecret !== undefined) answer.creator_secret = creatorSecret
    if (issueTicket !== undefined) answer.ticket = await issueTicket(record, origin, clientAddress)
    return JSON.stringify(answer)
  }

/**
 * The MSC4388 handlers of `msc4388FastRoutes` answered at once where the rendezvous service can
 * (`now`, the memory store): the same steps in the same order, each answering the JSON text of a 200
 * (or a promise of it when the service had to wait) or throwing what the Hono route would throw. A
 * request with a body is taken in two steps, `takesJson` before the body is read and `create` or
 * `write` on its JSON object (`json`) after.
 */
export const msc4388NowRoutes = (now: RendezvousNow, rendezvous: RendezvousService, maxBodyBytes: number) => {
  const asRequest = (request: FastRequest): Request => request as unknown as Request
  const created = (view: { record: ChannelRecord }): string =>
    JSON.stringify({ id: view.record.id, sequence_token: view.record.token, expires_in_ms: rendezvous.remainingMs(view.record) })
  const read = (view: { record: ChannelRecord }): string =>
    JSON.stringify({ data: view.record.data, sequence_token: view.record.token, expires_in_ms: rendezvous.remainingMs(view.record) })
  const written = (view: { record: ChannelRecord }): string => JSON.stringify({ sequence_token: view.record.token })
  const removed = (): string => '{}'
  return {
    /** What `readJsonObject` checks before reading the body. Errors: NOT_JSON. */
    takesJson(request: FastRequest): void {
      checkJsonType(asRequest(request))
    },
    /** The JSON object of a whole body (of a declared length within the cap), as `readJsonObject` reads it. */
    json(body: Uint8Array): Record<string, unknown> {
      return jsonObjectOf(decodeUtf8(body, maxBodyBytes))
    },
    create(json: Record<string, unknown>, caller: Caller): Now<string> {
      const { data } = parseWith(CREATE_BODY, json)
      return thenNow(now.create('msc4388', data, caller), created)
    },
    read(request: FastRequest, id: string, caller: Caller, note: ChannelNote): Now<string> {
      refuseNavigation(asRequest(request).headers)
      note.channelId = id
      return thenNow(now.read('msc4388', id, caller), read)
    },
    /** The write of a body; the channel was noted before its body was read (as the Hono route does). */
    write(json: Record<string, unknown>, id: string, caller: Caller): Now<string> {
      const { sequence_token: token, data } = parseWith(WRITE_BODY, json)
      return thenNow(now.write('msc4388', id, data, token, caller), written)
    },
    remove(id: string, caller: Caller, note: ChannelNote): Now<string> {
      note.channelId = id
      return thenNow(now.remove('msc4388', id, caller), removed)
    },
  }
}
