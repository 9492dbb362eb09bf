/**
 * The native rendezvous endpoints (`/v1/rendezvous`) as plain calls over a `fetch` function, with the
 * relay's JSON errors turned into {@link ClientError}s. Both transports use it: HTTP for everything,
 * WebSocket for creation and for deleting or aborting once its socket is closed.
 *
 * @see ../../README.md "Native two-party channels"
 */
import type { AbortReason } from '../core/relay/channel-event.ts'
import { ClientError, type ClientErrorCode } from './errors.ts'
import type { DpopKey } from './dpop-key.ts'
import { normalizeBaseUrl } from './platform.ts'

/** The `fetch` the SDK calls (the global one by default; tests and Workers may pass theirs). */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

/** A channel as the relay describes it. */
export interface ChannelView {
  data: string
  sequenceToken: string
  expiresInMs: number
}

/** The answer to a create. */
export interface CreatedChannel {
  id: string
  sequenceToken: string
  expiresInMs: number
  creatorSecret: string
  ticket: string
}

const STATUS_CODES: Record<number, ClientErrorCode> = {
  401: 'REFUSED',
  403: 'REFUSED',
  404: 'CHANNEL_GONE',
  409: 'CONCURRENT_WRITE',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMITED',
}

const DETAILS: Partial<Record<ClientErrorCode, string>> = {
  REFUSED: 'the relay refused this device (the channel already has two parties, or a wrong secret)',
  CHANNEL_GONE: 'the channel is gone (deleted, aborted or expired)',
  CONCURRENT_WRITE: 'the other device wrote first: wait for its message, then answer it',
  PAYLOAD_TOO_LARGE: 'the message is larger than the relay accepts',
  RATE_LIMITED: 'the relay asks to slow down',
}

/** Turns a non-2xx answer into a ClientError (the body's text is not copied: it could echo input). */
export const errorOfResponse = async (response: Response): Promise<ClientError> => {
  let body: { retry_after_ms?: unknown; qrelay_code?: unknown } = {}
  try {
    body = (await response.json()) as typeof body
  } catch {
    // Safe: only the body failed (not JSON, or cut off); the error is built from the status, which says enough.
  }
  const code = STATUS_CODES[response.status] ?? 'TRANSPORT_FAILED'
  const retryAfterMs = typeof body.retry_after_ms === 'number' ? body.retry_after_ms : undefined
  const qrelayCode = typeof body.qrelay_code === 'string' ? ` ${body.qrelay_code}` : ''
  const detail = DETAILS[code] ?? `the relay answered ${response.status}${qrelayCode}`
  const retry = retryAfterMs === undefined ? {} : { retryAfterMs }
  return new ClientError(code, { detail, status: response.status, ...retry })
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null

const viewOf = (body: Record<string, unknown>): ChannelView => {
  const { data, sequence_token: token, expires_in_ms: expires } = body
  if (typeof data !== 'string' || typeof token !== 'string' || typeof expires !== 'number') {
    throw new ClientError('TRANSPORT_FAILED', { detail: 'the relay answered without data, token or expiry' })
  }
  return { data, sequenceToken: token, expiresInMs: expires }
}

/** Options of {@link nativeApi}. */
export interface NativeApiOptions {
  /** The relay's base URL (requests go to `<baseUrl>/v1/rendezvous`). */
  baseUrl: string
  fetch?: FetchLike
  /**
   * This device's session, sent with the channel create: where the relay lets only signed-in devices
   * create channels (`QRELAY_INITIATION_REQUIRE_AUTH`), the existing device shows the QR code with it.
   */
  creator?: CreatorCredential
  /** The server's public base URL, for the creator's DPoP proof (`htu`), when requests go elsewhere. Default `baseUrl`. */
  publicBaseUrl?: string
}

/** A signed-in device's access token, and its DPoP key when the token is bound to one. */
export interface CreatorCredential {
  accessToken: string
  dpopKey?: Pick<DpopKey, 'proof'>
}

/** The calls of the native API; each throws a ClientError on failure. */
export type NativeApi = ReturnType<typeof nativeApi>

/**
 * The native API of the relay at `baseUrl`.
 *
 * @example
 * const api = nativeApi({ baseUrl: 'https://relay.example' })
 * const created = await api.create()
 */
export const nativeApi = (options: NativeApiOptions) => {
  const root = `${normalizeBaseUrl(options.baseUrl)}/v1/rendezvous`
  const doFetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const channelUrl = (id: string): string => `${root}/${encodeURIComponent(id)}`

  const call = async (url: string, init: RequestInit, what: string): Promise<Record<string, unknown>> => {
    let response: Response
    try {
      response = await doFetch(url, init)
    } catch (cause) {
      if (init.signal?.aborted === true) throw new ClientError('CANCELLED', { detail: 'cancelled by the caller', cause })
      throw new ClientError('TRANSPORT_FAILED', { detail: `could not reach the relay to ${what}`, cause })
    }
    if (!response.ok) throw await errorOfResponse(response)
    // A body that is not JSON becomes null, refused just below.
    const body: unknown = await response.json().catch(() => null)
    if (!isRecord(body)) {
      throw new ClientError('TRANSPORT_FAILED', { detail: `the relay's answer to ${what} is not a JSON object` })
    }
    return body
  }
  /** The creator's `Authorization` (and `DPoP` proof of `POST <public base>/v1/rendezvous` when bound), or none. */
  const creatorHeaders = async (): Promise<Record<string, string>> => {
    const creator = options.creator
    if (creator === undefined) return {}
    if (creator.dpopKey === undefined) return { Authorization: `Bearer ${creator.accessToken}` }
    const htu = `${normalizeBaseUrl(options.publicBaseUrl ?? options.baseUrl)}/v1/rendezvous`
    return { Authorization: `DPoP ${creator.accessToken}`, DPoP: await creator.dpopKey.proof('POST', htu, creator.accessToken) }
  }
  const headers = (secret: string | null, json: boolean): Record<string, string> => ({
    Accept: 'application/json',
    ...(json ? { 'Content-Type': 'application/json' } : {}),
    ...(secret === null ? {} : { Authorization: `Bearer ${secret}` }),
  })

  return {
    /** The WebSocket URL of channel `id` (`ws:` / `wss:`). */
    socketUrl: (id: string): string => `${channelUrl(id).replace(/^http/, 'ws')}/ws`,

    /** `POST /v1/rendezvous` with empty data. */
    async create(): Promise<CreatedChannel> {
      const init = { method: 'POST', headers: { ...headers(null, true), ...(await creatorHeaders()) }, body: '{"data":""}' }
      const body = await call(root, init, 'create a channel')
      const { id, creator_secret: secret, ticket, sequence_token: token, expires_in_ms: expires } = body
      const texts = [id, secret, ticket, token]
      if (!texts.every((t) => typeof t === 'string') || typeof expires !== 'number') {
        throw new ClientError('TRANSPORT_FAILED', { detail: 'the relay created no native channel (no id, secret or ticket)' })
      }
      return {
        id: id as string,
        creatorSecret: secret as string,
        ticket: ticket as string,
        sequenceToken: token as string,
        expiresInMs: expires,
      }
    },

    /** `GET /v1/rendezvous/{id}`; without a secret it claims the channel and returns `joinerSecret`. */
    async read(id: string, secret: string | null, signal?: AbortSignal): Promise<ChannelView & { joinerSecret?: string }> {
      const init = { method: 'GET', headers: headers(secret, false), ...(signal ? { signal } : {}) }
      const body = await call(channelUrl(id), init, 'read')
      const view = viewOf(body)
      return typeof body.joiner_secret === 'string' ? { ...view, joinerSecret: body.joiner_secret } : view
    },

    /** `PUT /v1/rendezvous/{id}`: compare-and-swap on `token`; returns the new token. */
    async write(id: string, secret: string, token: string, data: string): Promise<string> {
      const body = await call(
        channelUrl(id),
        { method: 'PUT', headers: headers(secret, true), body: JSON.stringify({ sequence_token: token, data }) },
        'write',
      )
      if (typeof body.sequence_token !== 'string') {
        throw new ClientError('TRANSPORT_FAILED', { detail: 'the write answer has no sequence_token' })
      }
      return body.sequence_token
    },

    /** `DELETE /v1/rendezvous/{id}`. */
    async remove(id: string, secret: string): Promise<void> {
      await call(channelUrl(id), { method: 'DELETE', headers: headers(secret, false) }, 'delete')
    },

    /** `POST /v1/rendezvous/{id}/abort`. */
    async abort(id: string, secret: string, reason: AbortReason): Promise<void> {
      const init = { method: 'POST', headers: headers(secret, true), body: JSON.stringify({ reason }) }
      await call(`${channelUrl(id)}/abort`, init, 'abort')
    },
  }
}
