import { describe, expect, it } from 'vitest'
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import {
  DPOP_TYP,
  accessTokenHash,
  normalizeHtu,
  replayKey,
  replayWindowMs,
  verifyDpopProof,
  type DpopRequest,
} from '../../../src/services/dpop.ts'
import { RelayError } from '../../../src/core/errors.ts'

// RFC 9449 §4.1, Figure 3 (decoded): the example proof's claims, re-signed with a fresh key here.
const RFC_IAT = 1562262616
const RFC_CLAIMS = { jti: '-BwC3ESc6acc2lTc', htm: 'POST', htu: 'https://server.example.com/token', iat: RFC_IAT }
const RFC_REQUEST: DpopRequest = { method: 'POST', url: 'https://server.example.com/token' }
const RFC_NOW = RFC_IAT * 1000 + 2000

interface Holder {
  alg: 'ES256' | 'EdDSA'
  privateKey: CryptoKey
  jwk: JWK
  privateJwk: JWK
}

const holder = async (alg: 'ES256' | 'EdDSA' = 'ES256'): Promise<Holder> => {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { alg, privateKey, jwk: await exportJWK(publicKey), privateJwk: await exportJWK(privateKey) }
}

const prove = (h: Holder, claims: JWTPayload = RFC_CLAIMS, header: Record<string, unknown> = {}): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ typ: DPOP_TYP, alg: h.alg, jwk: h.jwk, ...header } as never).sign(h.privateKey)

const refusal = async (promise: Promise<unknown>): Promise<RelayError> => {
  try {
    await promise
  } catch (error) {
    if (error instanceof RelayError) return error
    throw error
  }
  throw new Error('the proof was accepted')
}

describe('verifyDpopProof', () => {
  it('accepts a proof shaped like the RFC 9449 §4.1 example and returns its RFC 7638 thumbprint', async () => {
    const h = await holder('ES256')
    const proof = await prove(h)
    const verified = await verifyDpopProof(proof, RFC_REQUEST, new Date(RFC_NOW))
    expect(verified).toEqual({ jkt: await calculateJwkThumbprint(h.jwk, 'sha256'), jti: '-BwC3ESc6acc2lTc', iat: RFC_IAT })
    expect(verified.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('accepts an EdDSA proof, and a millisecond time', async () => {
    const h = await holder('EdDSA')
    const verified = await verifyDpopProof(await prove(h), RFC_REQUEST, RFC_NOW)
    expect(verified.jkt).toBe(await calculateJwkThumbprint(h.jwk))
  })

  it('ignores the query and fragment of the request URL and normalizes scheme, host and port', async () => {
    const proof = await prove(await holder(), { ...RFC_CLAIMS, htu: 'HTTPS://Server.Example.com:443/token' })
    await expect(verifyDpopProof(proof, { method: 'POST', url: 'https://server.example.com/token?x=1#f' }, RFC_NOW)).resolves.toBeDefined()
  })

  it('refuses another method or another URL', async () => {
    const proof = await prove(await holder())
    expect((await refusal(verifyDpopProof(proof, { ...RFC_REQUEST, method: 'GET' }, RFC_NOW))).detail).toMatch(/htm/)
    const other = { ...RFC_REQUEST, url: 'https://server.example.com/introspect' }
    expect((await refusal(verifyDpopProof(proof, other, RFC_NOW))).detail).toMatch(/htu/)
    const otherHost = { ...RFC_REQUEST, url: 'https://evil.example.com/token' }
    expect((await refusal(verifyDpopProof(proof, otherHost, RFC_NOW))).code).toBe('INVALID_DPOP_PROOF')
  })

  it('gives the same verdicts when request URLs repeat and alternate (their htu forms are kept per URL)', async () => {
    const h = await holder()
    const token = await prove(h)
    const spelled = await prove(h, { ...RFC_CLAIMS, htu: 'HTTPS://Server.Example.com:443/token' })
    const introspect = { ...RFC_REQUEST, url: 'https://server.example.com/introspect' }
    const notUrl = { ...RFC_REQUEST, url: 'not a url' }
    for (let round = 0; round < 3; round++) {
      await expect(verifyDpopProof(token, RFC_REQUEST, RFC_NOW)).resolves.toBeDefined()
      await expect(verifyDpopProof(spelled, RFC_REQUEST, RFC_NOW)).resolves.toBeDefined()
      expect((await refusal(verifyDpopProof(token, introspect, RFC_NOW))).detail).toMatch(/htu/)
      expect((await refusal(verifyDpopProof(spelled, introspect, RFC_NOW))).detail).toMatch(/htu/)
      expect((await refusal(verifyDpopProof(token, notUrl, RFC_NOW))).detail).toMatch(/htu/)
    }
    // More URLs than are kept: the early ones are parsed again, with the same verdicts.
    for (let i = 0; i < 80; i++) {
      const url = `https://server.example.com/token${i === 0 ? '' : `?n=${i}`}`
      await expect(verifyDpopProof(token, { ...RFC_REQUEST, url }, RFC_NOW)).resolves.toBeDefined()
    }
    await expect(verifyDpopProof(spelled, RFC_REQUEST, RFC_NOW)).resolves.toBeDefined()
    expect((await refusal(verifyDpopProof(token, introspect, RFC_NOW))).detail).toMatch(/htu/)
  })

  it('refuses a proof too old or from the future', async () => {
    const proof = await prove(await holder())
    expect((await refusal(verifyDpopProof(proof, RFC_REQUEST, RFC_IAT * 1000 + 60_001))).detail).toMatch(/too old/)
    expect((await refusal(verifyDpopProof(proof, RFC_REQUEST, RFC_IAT * 1000 - 5001))).detail).toMatch(/future/)
    await expect(verifyDpopProof(proof, RFC_REQUEST, RFC_IAT * 1000 + 60_000)).resolves.toBeDefined()
    const strict = { maxAgeMs: 1000 }
    expect((await refusal(verifyDpopProof(proof, RFC_REQUEST, RFC_NOW, strict))).detail).toMatch(/too old/)
  })

  it('refuses a wrong typ', async () => {
    const proof = await prove(await holder(), RFC_CLAIMS, { typ: 'JWT' })
    expect((await refusal(verifyDpopProof(proof, RFC_REQUEST, RFC_NOW))).detail).toMatch(/typ/)
  })

  it('refuses an algorithm outside the allow-list', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true })
    const jwk = await exportJWK(publicKey)
    const proof = await new SignJWT(RFC_CLAIMS).setProtectedHeader({ typ: DPOP_TYP, alg: 'ES384', jwk }).sign(privateKey)
    expect((await refusal(verifyDpopProof(proof, RFC_REQUEST, RFC_NOW))).detail).toMatch(/algorithm/)
    const hs = await new SignJWT(RFC_CLAIMS).setProtectedHeader({ typ: DPOP_TYP, alg: 'HS256' }).sign(new Uint8Array(32))
    expect((await refusal(verifyDpopProof(hs, RFC_REQUEST, RFC_NOW))).detail).toMatch(/algorithm/)
  })

  it('refuses a private key in the header', async () => {
    const h = await holder()
    const proof = await prove(h, RFC_CLAIMS, { jwk: h.privateJwk })
    expect((await refusal(verifyDpopProof(proof, RFC_REQUEST, RFC_NOW))).detail).toMatch(/public key/)
  })

  it('refuses a proof without a jwk, or signed by another key than its jwk', async () => {
    const h = await holder()
    const noJwk = await new SignJWT(RFC_CLAIMS).setProtectedHeader({ typ: DPOP_TYP, alg: 'ES256' }).sign(h.privateKey)
    expect((await refusal(verifyDpopProof(noJwk, RFC_REQUEST, RFC_NOW))).detail).toMatch(/jwk/)
    const forged = await prove({ ...h, jwk: (await holder()).jwk })
    expect((await refusal(verifyDpopProof(forged, RFC_REQUEST, RFC_NOW))).detail).toMatch(/signature/)
  })

  it('refuses a proof without jti, or garbage', async () => {
    const { jti: _jti, ...noJti } = RFC_CLAIMS
    const proof = await prove(await holder(), noJti)
    expect((await refusal(verifyDpopProof(proof, RFC_REQUEST, RFC_NOW))).code).toBe('INVALID_DPOP_PROOF')
    expect((await refusal(verifyDpopProof('not.a.jwt', RFC_REQUEST, RFC_NOW))).detail).toBe('malformed DPoP proof')
  })

  it('checks ath against the presented access token', async () => {
    const h = await holder()
    const token = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU'
    const bound = await prove(h, { ...RFC_CLAIMS, ath: accessTokenHash(token) })
    await expect(verifyDpopProof(bound, { ...RFC_REQUEST, accessToken: token }, RFC_NOW)).resolves.toBeDefined()
    expect((await refusal(verifyDpopProof(bound, { ...RFC_REQUEST, accessToken: `${token}x` }, RFC_NOW))).detail).toMatch(/ath/)
    const unbound = await prove(h)
    expect((await refusal(verifyDpopProof(unbound, { ...RFC_REQUEST, accessToken: token }, RFC_NOW))).detail).toMatch(/ath/)
  })

  it('asks for the nonce the server demands', async () => {
    const h = await holder()
    const withNonce = await prove(h, { ...RFC_CLAIMS, nonce: 'eyJ7S_zG.eyJH0-Z.HX4w-7v' })
    await expect(verifyDpopProof(withNonce, { ...RFC_REQUEST, nonce: 'eyJ7S_zG.eyJH0-Z.HX4w-7v' }, RFC_NOW)).resolves.toBeDefined()
    expect((await refusal(verifyDpopProof(withNonce, { ...RFC_REQUEST, nonce: 'newer' }, RFC_NOW))).code).toBe('DPOP_NONCE_REQUIRED')
    expect((await refusal(verifyDpopProof(await prove(h), { ...RFC_REQUEST, nonce: 'n' }, RFC_NOW))).code).toBe('DPOP_NONCE_REQUIRED')
  })
})

describe('DPoP helpers', () => {
  it('computes ath as in RFC 9449 §7.1', () => {
    // The access token and ath of the RFC 9449 §7.1 example.
    expect(accessTokenHash('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU')).toBe('fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo')
  })

  it('normalizes htu and refuses non-http URLs', () => {
    expect(normalizeHtu('HTTPS://Server.Example:443/token?x=1#f')).toBe('https://server.example/token')
    expect(normalizeHtu('http://localhost:8080/a/b')).toBe('http://localhost:8080/a/b')
    expect(normalizeHtu('ftp://x/y')).toBeNull()
    expect(normalizeHtu('not a url')).toBeNull()
  })

  it('keys replays per thumbprint and jti, without the raw jti', () => {
    const key = replayKey('thumb', 'a-very-long-jti-value')
    expect(key.startsWith('dpop:thumb:')).toBe(true)
    expect(key).not.toContain('a-very-long-jti-value')
    expect(replayKey('thumb', 'x')).not.toBe(replayKey('other', 'x'))
    // Max age 60 s + skew 5 s, and the last millisecond of acceptance itself (finding 55).
    expect(replayWindowMs()).toBe(65_001)
  })
})
