/**
 * A form POST with a DPoP proof to the authorization server, honouring server nonces (RFC 9449 §8):
 * the proof carries the last `DPoP-Nonce` the server sent, every answer's nonce is kept for the next
 * request, and one `400 use_dpop_nonce` is retried at once with the nonce it brought.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 */
import type { DpopKey } from './dpop-key.ts'
import { formPost, requestJson, type JsonAnswer, type LoginHttp } from './login-http.ts'

/** The last nonce the server handed out, shared by the requests of one login and its session. */
export interface DpopNonceBox {
  value: string | undefined
}

/**
 * Posts `fields` (and `headers`) to `path` with a proof by `key`. Errors: those of `requestJson`.
 *
 * @example
 * const answer = await dpopFormPost(http, key, nonces, '/oauth2/token', { grant_type: 'refresh_token', refresh_token })
 */
export const dpopFormPost = async (
  http: LoginHttp,
  key: Pick<DpopKey, 'proof'>,
  nonces: DpopNonceBox,
  path: string,
  fields: Record<string, string>,
  signal?: AbortSignal,
  headers: Record<string, string> = {},
): Promise<JsonAnswer> => {
  for (let attempt = 0; ; attempt++) {
    const proof = await key.proof('POST', http.publicUrl(path), undefined, nonces.value)
    const answer = await requestJson(http, path, formPost(fields, { ...headers, dpop: proof }, signal))
    const told = answer.dpopNonce
    const retry =
      attempt === 0 && answer.status === 400 && answer.body.error === 'use_dpop_nonce' && told !== undefined && told !== nonces.value
    if (told !== undefined) nonces.value = told
    if (!retry) return answer
  }
}
