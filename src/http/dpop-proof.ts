/**
 * The DPoP proof of a request to an authorization-server endpoint (RFC 9449), translated to OAuth
 * answers: the proof is accepted by `services/dpop-proofs.ts`; here only the `DPoP` header is read and
 * refusals become RFC 6749 §5.2 bodies. With server nonces on, every answer carries the current
 * `DPoP-Nonce` and a proof without a fresh one gets `400 use_dpop_nonce` (its `jti` unspent).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 */
import type { Context } from 'hono'
import { RelayError } from '../core/errors.ts'
import type { DpopProofs } from '../services/dpop-proofs.ts'
import type { AppEnv } from './context.ts'
import { honoAnswer, honoExchange, type OAuthAnswer, type OAuthExchange } from './oauth-exchange.ts'
import { errorAnswer } from './routes/oauth-form.ts'

/**
 * Accepts the request's proof for `url` (the endpoint's public URL, the proof's `htu`); the key's
 * thumbprint, or the error answer. `withNonce: false` for endpoints that demand no server nonce.
 *
 * @example
 * const jkt = await proofAnswer(x, deps.dpop, `${base}/oauth2/token`)
 * if (typeof jkt !== 'string') return jkt
 */
export const proofAnswer = async (x: OAuthExchange, proofs: DpopProofs, url: string, withNonce = true): Promise<string | OAuthAnswer> => {
  const nonce = withNonce ? proofs.currentNonce() : undefined
  if (nonce !== undefined) x.setHeader('DPoP-Nonce', nonce)
  const proof = x.header('dpop')
  if (proof === undefined || proof === '') return errorAnswer(x, 'invalid_dpop_proof', 'a DPoP proof is required')
  try {
    return await proofs.accept(proof, { method: x.method, url, withNonce })
  } catch (error) {
    if (error instanceof RelayError && error.code === 'INVALID_DPOP_PROOF') {
      return errorAnswer(x, 'invalid_dpop_proof', error.detail ?? 'invalid DPoP proof')
    }
    if (error instanceof RelayError && error.code === 'DPOP_NONCE_REQUIRED') {
      return errorAnswer(x, 'use_dpop_nonce', 'use the DPoP-Nonce of this answer in the proof')
    }
    throw error
  }
}

/**
 * {@link proofAnswer} for a Hono route: the key's thumbprint, or the error response.
 *
 * @example
 * const jkt = await checkDpop(c, deps.dpop, `${base}/oauth2/token`)
 * if (jkt instanceof Response) return jkt
 */
export const checkDpop = async (c: Context<AppEnv>, proofs: DpopProofs, url: string, withNonce = true): Promise<string | Response> => {
  const jkt = await proofAnswer(honoExchange(c), proofs, url, withNonce)
  return typeof jkt === 'string' ? jkt : honoAnswer(c, jkt)
}
