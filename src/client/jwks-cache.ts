/**
 * The server's JWK set (`GET /oauth2/jwks`) for checking scanned channel tickets, kept as long as the
 * answer's `Cache-Control: max-age` allows (the relay sends 300 s), so a scan does not fetch it every
 * time. A ticket that does not verify with a kept set is checked once more against a fresh one (a key
 * rotated in since). Kept per `fetch` function and URL, a few URLs each, in memory only; an answer
 * without `max-age` (or with `no-store` / `no-cache`) is not kept.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9111#section-5.2.2.1
 */
import type { JSONWebKeySet } from 'jose'
import { ClientError } from './errors.ts'
import type { FetchLike } from './native-api.ts'

/** Longest time a set is kept, whatever the server says (a retired key stops verifying within it). */
const MAX_KEEP_MS = 300_000
/** URLs kept per fetch function (oldest dropped first). */
const MAX_URLS = 8

interface Kept {
  jwks: JSONWebKeySet
  untilMs: number
}

const kept = new WeakMap<FetchLike, Map<string, Kept>>()

/** How long `cache-control` lets the answer be kept, in ms (0: not at all). */
const keepMsOf = (cacheControl: string | null): number => {
  if (cacheControl === null || /(^|,)\s*(no-store|no-cache|private)\b/i.test(cacheControl)) return 0
  const maxAge = /(^|,)\s*max-age\s*=\s*"?(\d{1,9})"?/i.exec(cacheControl)?.[2]
  return maxAge === undefined ? 0 : Math.min(Number(maxAge) * 1000, MAX_KEEP_MS)
}

const fetchJwks = async (url: string, doFetch: FetchLike): Promise<{ jwks: JSONWebKeySet; keepMs: number }> => {
  let response: Response
  try {
    response = await doFetch(url, { headers: { Accept: 'application/json' } })
  } catch (cause) {
    throw new ClientError('TRANSPORT_FAILED', { detail: 'could not fetch the server keys', cause })
  }
  // A body that is not JSON becomes null, refused just below.
  const body: unknown = response.ok ? await response.json().catch(() => null) : null
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { keys?: unknown }).keys)) {
    throw new ClientError('TRANSPORT_FAILED', { detail: 'the server published no JWK set', status: response.status })
  }
  return { jwks: body as JSONWebKeySet, keepMs: keepMsOf(response.headers.get('cache-control')) }
}

/**
 * Runs `check` with the JWK set at `url`: a kept one when still fresh (and, if `check` throws with it,
 * once more with a fresh one), else a fresh one, kept when its answer allows.
 * Errors: TRANSPORT_FAILED (no JWK set), and `check`'s.
 *
 * @example
 * const claims = await withJwks(`${baseUrl}/oauth2/jwks`, fetch, Date.now(), (jwks) => verifyChannelTicket(jws, jwks, now, expect))
 */
export const withJwks = async <T>(
  url: string,
  doFetch: FetchLike,
  nowMs: number,
  check: (jwks: JSONWebKeySet) => Promise<T>,
): Promise<T> => {
  let byUrl = kept.get(doFetch)
  const found = byUrl?.get(url)
  if (found !== undefined && found.untilMs > nowMs) {
    try {
      return await check(found.jwks)
    } catch {
      // Safe: the same check runs again below with a fresh set, and its error is the one the caller sees.
      byUrl?.delete(url)
    }
  }
  const fresh = await fetchJwks(url, doFetch)
  if (fresh.keepMs > 0) {
    if (byUrl === undefined) kept.set(doFetch, (byUrl = new Map()))
    byUrl.delete(url)
    byUrl.set(url, { jwks: fresh.jwks, untilMs: nowMs + fresh.keepMs })
    for (const oldest of byUrl.keys()) {
      if (byUrl.size <= MAX_URLS) break
      byUrl.delete(oldest)
    }
  } else byUrl?.delete(url)
  return check(fresh.jwks)
}
