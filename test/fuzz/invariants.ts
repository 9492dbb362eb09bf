/**
 * The invariants every fuzzed response must keep:
 * 1. no 5xx (and an answer at all, unless the request was not valid HTTP/1.1);
 * 2. an error status carries the documented JSON body: `{errcode, error}` (Matrix style, every
 *    route), `{error}` with an optional `error_description` (RFC 6749 §5.2 style, /oauth2/*), or
 *    the UIA challenge `{flows, session, …}` (401);
 *    the only exception is Node's own HTTP parser refusing bytes that are not HTTP/1.1 (its JSON 400,
 *    or an empty answer when the connection broke first); the Node adapter's own refusals (F4, F6)
 *    are held to the JSON shape like the app's;
 * 3. a 4xx changes no state: no write to channels, key-value entries, SQLite rows or Redis keys,
 *    except the bookkeeping listed in {@link ALLOWED_ON_4XX} (each with its reason), grant
 *    bookkeeping, a last-seen after a passed token check, and the periodic purge of rows already
 *    expired (`purge-expired`, target.ts). The recorder attributes a write to the request that made
 *    it, even one landing after the answer (target.ts, `Recorder`).
 * Liveness (`/readyz` answers 200) is checked by the runner.
 */
import type { RawResponse } from './raw-http.ts'
import type { Write } from './target.ts'

/**
 * Writes a 4xx may legitimately cause, by key (ephemeral key-value name, SQLite `table:pk`, Redis key
 * without the run's prefix). Anything else written on a 4xx is a violation.
 */
export const ALLOWED_ON_4XX: ReadonlyArray<{ pattern: RegExp; why: string }> = [
  { pattern: /^ct:/, why: 'rate-limit, DPoP-replay and abuse counters (Redis; in memory counters are not recorded at all)' },
  { pattern: /^\{c:[^}]+\}:rl:/, why: "a channel's read and write rate-limit counters, kept beside its record on Redis (redis-fused.ts)" },
  { pattern: /^kv:\{authblock:|^authblock:/, why: 'the lock-out a failed password or second factor earns (auth-failures)' },
  { pattern: /^kv:\{user-code:block:|^user-code:block:/, why: 'the block a client earns by guessing user codes' },
  { pattern: /^kv:\{abuse-|^abuse-/, why: 'abuse-guard records and denials (off in the fuzz config, listed for completeness)' },
  { pattern: /^kv:\{events:|^events:/, why: 'the security event a refused login, 2FA or approval emits to the account feed' },
  { pattern: /^kv:\{uia:|^uia:/, why: 'the UIA session a 401 challenge opens or advances (the 401 is the protocol, not a refusal)' },
]

/** One broken invariant. */
export interface Violation {
  kind: 'status-5xx' | 'no-response' | 'error-body' | 'state-change-on-4xx' | 'not-ready' | 'crash'
  detail: string
}

const isAllowed = (write: Write): boolean => ALLOWED_ON_4XX.some((a) => a.pattern.test(write.key))

/** The refusals of the access-token check itself: after them, nothing about the device may change. */
const AUTH_REFUSALS = new Set(['MISSING_TOKEN', 'INVALID_TOKEN', 'INVALID_DPOP_PROOF', 'DPOP_NONCE_REQUIRED'])

/**
 * Last-seen of a device whose access token passed the check (throttled to once a minute per device),
 * with the recent networks kept in the same write (finding 49): the device was seen even if the route
 * then refused the request. Never after an authentication refusal.
 */
const isLastSeen = (write: Write, body: Record<string, unknown> | null): boolean => {
  if (typeof body?.qrelay_code === 'string' && AUTH_REFUSALS.has(body.qrelay_code)) return false
  if (write.store === 'sqlite')
    return write.key.startsWith('devices:') && /^update\((last_seen_at_ms|last_seen_network|recent_networks|,)+\)$/.test(write.op)
  return write.store === 'redis' && /:dev:/.test(write.key) && write.op === 'hset'
}

/**
 * Grant bookkeeping on a 4xx: a device-code poll that answers `authorization_pending`/`slow_down`
 * records the poll time (RFC 8628 §3.5), a wrong verification code counts an attempt.
 */
const isGrantBookkeeping = (write: Write, path: string, body: Record<string, unknown> | null): boolean => {
  if (!/grant:/.test(write.key) || /grant-(dc|uc):/.test(write.key)) return false
  if (!(write.op === 'kv.replace' || write.op === 'set' || write.op === 'hset')) return false
  const error = typeof body?.error === 'string' ? body.error : ''
  return (
    (path.startsWith('/oauth2/token') && ['authorization_pending', 'slow_down'].includes(error)) ||
    (path.startsWith('/oauth2/device') && error === 'invalid_code')
  )
}

/** Paths whose answers are the API's JSON whoever asks (`src/http/pages/mount-pages.tsx`). */
const API_NAMESPACES = ['/_matrix/', '/v1/', '/oauth2/', '/.well-known/']

const parseJson = (body: Buffer): Record<string, unknown> | null => {
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** Checks one exchange. `wireMalformed`: the bytes were not valid HTTP/1.1 (the parser may refuse them). */
export const checkExchange = (input: {
  method: string
  path: string
  wireMalformed: boolean
  response: RawResponse
  writes: readonly Write[]
}): Violation[] => {
  const { response, writes, wireMalformed, path, method } = input
  const out: Violation[] = []
  const socketError = response.sendError === undefined ? '' : ` (socket error ${response.sendError})`
  if (response.timedOut) out.push({ kind: 'no-response', detail: `timed out${socketError}` })
  if (response.status === 0) {
    if (!wireMalformed && !response.timedOut)
      out.push({ kind: 'no-response', detail: `connection closed without a response${socketError}` })
    return out
  }
  if (response.status >= 500) out.push({ kind: 'status-5xx', detail: `${response.status} ${response.body.toString('utf8').slice(0, 300)}` })
  const json = parseJson(response.body)
  // Node's parser refusing bytes that are not HTTP/1.1: the server answers its own JSON 400 (or, for a
  // body broken after the headers, the app may already have answered). Either is the parser's refusal.
  const parserRefusal =
    wireMalformed &&
    ((response.body.length === 0 && response.headers['content-type'] === undefined) || json?.qrelay_code === 'MALFORMED_REQUEST')
  if (response.status >= 400 && method !== 'HEAD') {
    const matrix = json !== null && typeof json.errcode === 'string' && typeof json.error === 'string'
    const oauth =
      json !== null &&
      path.startsWith('/oauth2/') &&
      typeof json.error === 'string' &&
      (json.error_description === undefined || typeof json.error_description === 'string')
    // The first UIA round (MSC2839 / Matrix UIA): 401 with the challenge, no errcode yet.
    const uia = json !== null && response.status === 401 && Array.isArray(json.flows) && typeof json.session === 'string'
    // A browser's navigation to an address with no page, outside the API's namespaces: the 404 page,
    // which never quotes the address (docs/pages.md).
    const page =
      response.status === 404 &&
      method === 'GET' &&
      String(response.headers['content-type'] ?? '').startsWith('text/html') &&
      !API_NAMESPACES.some((prefix) => path.replace(/\/{2,}/g, '/').startsWith(prefix)) &&
      (path.length <= 8 || !response.body.toString('utf8').includes(path))
    if (!parserRefusal && !matrix && !oauth && !uia && !page)
      out.push({ kind: 'error-body', detail: `${response.status} ${response.body.toString('utf8').slice(0, 300)}` })
  }
  // Node's parser refusing a broken body after the headers: the app may have acted on the headers
  // already (a DELETE needs no body) and its answer was replaced; that is HTTP streaming, not the app.
  if (response.status >= 400 && response.status < 500 && !parserRefusal) {
    const bad = writes.filter(
      (w) => !isAllowed(w) && !isGrantBookkeeping(w, path, json) && !isLastSeen(w, json) && w.op !== 'purge-expired',
    )
    if (bad.length > 0)
      out.push({
        kind: 'state-change-on-4xx',
        detail: `${response.status} ${bad.map((w) => `${w.store}:${w.op}:${w.key}`).join(', ')} — ${response.body.toString('utf8').slice(0, 200)}`,
      })
  }
  return out
}
