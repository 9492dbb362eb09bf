/**
 * A DPoP key holder for tests (RFC 9449): a fresh ES256 key, its thumbprint, and proofs for a method
 * and URL (with `ath` when an access token is given). Every proof has a new `jti` unless one is given;
 * `claims` override any of them (a malformed proof).
 */
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose'
import { accessTokenHash } from '../../src/services/dpop.ts'

export interface DpopHolder {
  jkt: string
  /** A proof for `method url` at `nowMs`. */
  prove(
    method: string,
    url: string,
    nowMs: number,
    options?: { accessToken?: string; jti?: string; nonce?: string; claims?: Record<string, unknown> },
  ): Promise<string>
}

let counter = 0

export const dpopHolder = async (): Promise<DpopHolder> => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(publicKey)
  return {
    jkt: await calculateJwkThumbprint(jwk, 'sha256'),
    async prove(method, url, nowMs, options = {}) {
      const claims: Record<string, unknown> = {
        jti: options.jti ?? `jti-${++counter}-${Math.random().toString(36).slice(2)}`,
        htm: method,
        htu: url,
        iat: Math.floor(nowMs / 1000),
      }
      if (options.accessToken !== undefined) claims.ath = accessTokenHash(options.accessToken)
      if (options.nonce !== undefined) claims.nonce = options.nonce
      // Overrides last: a test's malformed proof (another htu, htm or iat).
      Object.assign(claims, options.claims)
      return new SignJWT(claims).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk }).sign(privateKey)
    },
  }
}
