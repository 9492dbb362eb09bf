/**
 * The MSC4108 2024 rendezvous API (ETag), what every shipped Matrix client speaks: text/plain
 * payloads, strong ETags with If-Match / If-None-Match, absolute Expires, and the common headers on
 * every response that describes the session (201, 200, 304, 202 and 412).
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/blob/0b315f54/proposals/4108-oidc-qr-login.md
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108 (HTTP semantics of the rendezvous session)
 */
import type { Context, Handler } from 'hono'
import { RelayError } from '../../core/errors.ts'
import { formatEtag, ifNoneMatchHits, parseIfMatch } from '../../core/rendezvous/etag.ts'
import type { ChannelRecord } from '../../core/rendezvous/channel.ts'
import type { RendezvousService } from '../../services/rendezvous.ts'
import { charsetOf, checkDeclaredLength, mediaTypeOf, readTextCapped } from '../body.ts'
import type { AppEnv } from '../context.ts'
import { refuseNavigation } from '../middleware/fetch-metadata.ts'
import { errorResponse } from '../errors.ts'
import { callerOf, channelIdParam } from './shared.ts'

/** Path prefix of the 2024 API; session URLs are `${PREFIX}/${id}`. */
export const MSC4108_PREFIX = '/_matrix/client/unstable/org.matrix.msc4108/rendezvous'

/** Options of {@link msc4108Routes}. */
export interface Msc4108Options {
  rendezvous: RendezvousService
  maxPayloadBytes: number
  /** The public base URL, or undefined to use each request's origin. */
  publicBaseUrl: string | undefined
}

/** The headers every session-describing response carries. */
const sessionHeaders = (record: ChannelRecord): Record<string, string> => ({
  ETag: formatEtag(record.token),
  Expires: new Date(record.expiresAtMs).toUTCString(),
  'Last-Modified': new Date(record.updatedAtMs).toUTCString(),
  'Cache-Control': 'no-store, no-transform',
  Pragma: 'no-cache',
})

/** Validates the payload headers of POST and PUT, then reads the text body. */
const readPayload = async (c: Context<AppEnv>, maxBytes: number): Promise<string> => {
  const request = c.req.raw
  checkDeclaredLength(request, maxBytes, true)
  if (request.headers.get('content-type') === null) throw new RelayError('MISSING_PARAM', { detail: 'Content-Type is required' })
  const charset = charsetOf(request)
  if (mediaTypeOf(request) !== 'text/plain' || (charset !== undefined && charset !== 'utf-8')) {
    throw new RelayError('INVALID_PARAM', { detail: 'Content-Type must be text/plain' })
  }
  return readTextCapped(request, maxBytes)
}

/** Handlers of the 2024 API. */
export const msc4108Routes = (options: Msc4108Options) => {
  const { rendezvous, maxPayloadBytes, publicBaseUrl } = options

  const create: Handler<AppEnv> = async (c) => {
    const data = await readPayload(c, maxPayloadBytes)
    const { record } = await rendezvous.create('msc4108', data, callerOf(c))
    const base = publicBaseUrl ?? new URL(c.req.url).origin
    return c.json({ url: `${base}${MSC4108_PREFIX}/${record.id}` }, 201, sessionHeaders(record))
  }

  const read: Handler<AppEnv> = async (c) => {
    // The payload is a stranger's text: a link or a typed URL must not show it as a page.
    refuseNavigation(c.req.raw.headers)
    const { record } = await rendezvous.read('msc4108', channelIdParam(c), callerOf(c))
    const hit = ifNoneMatchHits(c.req.header('if-none-match'), record.token)
    if (!hit.ok) throw new RelayError(hit.code, { detail: hit.detail })
    if (hit.value) return c.body(null, 304, sessionHeaders(record))
    // An explicit Content-Length keeps proxies from chunking (and weakening the ETag of) the body.
    const length = String(new TextEncoder().encode(record.data).length)
    return c.body(record.data, 200, { ...sessionHeaders(record), 'Content-Type': 'text/plain', 'Content-Length': length })
  }

  const write: Handler<AppEnv> = async (c) => {
    const id = channelIdParam(c)
    const expected = parseIfMatch(c.req.header('if-match'))
    if (!expected.ok) throw new RelayError(expected.code, { detail: expected.detail })
    const data = await readPayload(c, maxPayloadBytes)
    try {
      const { record } = await rendezvous.write('msc4108', id, data, expected.value, callerOf(c))
      return c.body('', 202, { ...sessionHeaders(record), 'Content-Type': 'text/plain', 'Content-Length': '0' })
    } catch (error) {
      if (!(error instanceof RelayError) || error.code !== 'CONCURRENT_WRITE') throw error
      // 412 carries the current session headers so the client can learn the current ETag.
      const current = error.cause as ChannelRecord
      for (const [name, value] of Object.entries(sessionHeaders(current))) c.header(name, value)
      return errorResponse(c, new RelayError('PRECONDITION_FAILED', { detail: 'the ETag does not match' }))
    }
  }

  const remove: Handler<AppEnv> = async (c) => {
    await rendezvous.remove('msc4108', channelIdParam(c), callerOf(c))
    return c.body(null, 204, { 'Cache-Control': 'no-store' })
  }

  return { create, read, write, remove }
}
