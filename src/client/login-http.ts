/**
 * The few HTTP calls of a QR login, shared by the new device (device authorization, token polls,
 * refresh) and the existing device (approval context and decision): URLs (the request base and the
 * public base a DPoP `htu` names), form and JSON bodies, and answers read as JSON without ever
 * echoing a token into an error.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628
 */
import { ClientError } from './errors.ts'
import type { FetchLike } from './native-api.ts'
import { normalizeBaseUrl } from './platform.ts'

/** Where a device sends its requests. */
export interface LoginEndpoints {
  /** Where requests go. */
  baseUrl: string
  /** The server's public base URL (DPoP `htu`), when requests go elsewhere (a proxy). Default `baseUrl`. */
  publicBaseUrl?: string
  /** Default `globalThis.fetch`. */
  fetch?: FetchLike
}

/** Resolved endpoints: a request URL and the public URL of a path. */
export interface LoginHttp {
  requestUrl(path: string): string
  publicUrl(path: string): string
  fetch: FetchLike
}

export const loginHttp = (endpoints: LoginEndpoints): LoginHttp => {
  const base = normalizeBaseUrl(endpoints.baseUrl)
  const publicBase = normalizeBaseUrl(endpoints.publicBaseUrl ?? endpoints.baseUrl)
  const fetchFn = endpoints.fetch ?? ((input: string, init?: RequestInit) => globalThis.fetch(input, init))
  return {
    requestUrl: (path) => `${base}${path}`,
    publicUrl: (path) => `${publicBase}${path}`,
    fetch: fetchFn,
  }
}

/** An answer: status, the JSON body (an empty object when there is none), Retry-After in ms. */
export interface JsonAnswer {
  status: number
  body: Record<string, unknown>
  retryAfterMs: number | undefined
  /** The server's `DPoP-Nonce` header (RFC 9449 §8), when it sent one. */
  dpopNonce?: string
  /** The server's `Preference-Applied` header (RFC 7240), when it sent one (e.g. `wait=5`: a long poll). */
  preferenceApplied?: string
}

/** Sends and reads the JSON answer. Errors: TRANSPORT_FAILED (network), CANCELLED. */
export const requestJson = async (http: LoginHttp, path: string, init: RequestInit): Promise<JsonAnswer> => {
  let res: Response
  try {
    res = await http.fetch(http.requestUrl(path), init)
  } catch (error) {
    if (init.signal?.aborted === true) throw new ClientError('CANCELLED', { detail: 'cancelled by the caller', cause: init.signal.reason })
    throw new ClientError('TRANSPORT_FAILED', {
      detail: `${init.method ?? 'GET'} ${path.split('/').slice(0, 3).join('/')} failed`,
      cause: error,
    })
  }
  let body: Record<string, unknown> = {}
  try {
    const parsed: unknown = await res.json()
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>
  } catch {
    // Safe: only the body failed (not JSON, or cut off); the caller decides by the status, which says enough.
  }
  const retryAfter = Number(res.headers.get('retry-after'))
  const nonce = res.headers.get('dpop-nonce')
  const applied = res.headers.get('preference-applied')
  return {
    status: res.status,
    body,
    retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    ...(nonce === null || nonce === '' ? {} : { dpopNonce: nonce }),
    ...(applied === null || applied === '' ? {} : { preferenceApplied: applied }),
  }
}

/** A form-encoded POST. */
export const formPost = (fields: Record<string, string>, headers: Record<string, string>, signal?: AbortSignal): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
  body: new URLSearchParams(fields).toString(),
  ...(signal === undefined ? {} : { signal }),
})

/** A short description from an error body (`error_description`, `error`, or the status), never a token. */
export const describeAnswer = (answer: JsonAnswer): string => {
  const { error, error_description: description, errcode } = answer.body
  const parts = [typeof error === 'string' ? error : typeof errcode === 'string' ? errcode : `HTTP ${answer.status}`]
  if (typeof description === 'string') parts.push(description.slice(0, 200))
  return parts.join(': ')
}

/** The ClientError for an unexpected answer: RATE_LIMITED on 429, UNAUTHORIZED on 401, TRANSPORT_FAILED otherwise. */
export const answerError = (answer: JsonAnswer, what: string): ClientError => {
  const detail = `${what}: ${describeAnswer(answer)}`
  if (answer.status === 429) {
    return new ClientError('RATE_LIMITED', {
      detail,
      status: 429,
      ...(answer.retryAfterMs === undefined ? {} : { retryAfterMs: answer.retryAfterMs }),
    })
  }
  if (answer.status === 401) return new ClientError('UNAUTHORIZED', { detail, status: 401 })
  return new ClientError('TRANSPORT_FAILED', { detail, status: answer.status })
}
