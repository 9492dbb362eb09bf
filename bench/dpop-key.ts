/**
 * A DPoP key for the benchmarks' clients: a fresh ES256 key pair, its JWK thumbprint, and a signer of
 * proofs for POST requests (a unique `jti`, the current `iat`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 */
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose'

/** A key and the proofs it signs. */
export interface BenchDpopKey {
  jkt: string
  prove(url: string): Promise<string>
}

/** Makes a new key. */
export const benchDpopKey = async (): Promise<BenchDpopKey> => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(publicKey)
  let counter = 0
  return {
    jkt: await calculateJwkThumbprint(jwk, 'sha256'),
    prove: (url: string) =>
      new SignJWT({
        jti: `bench-${++counter}-${Math.random().toString(36).slice(2)}`,
        htm: 'POST',
        htu: url,
        iat: Math.floor(Date.now() / 1000),
      })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
        .sign(privateKey),
  }
}
