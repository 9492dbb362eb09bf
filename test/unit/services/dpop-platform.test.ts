/**
 * The platform path of DPoP verification (node:crypto, `services/dpop-platform.ts`) reaches the
 * portable path's verdict (jose on Web Crypto) on every proof: the same thumbprint, jti and iat when
 * accepted, the same refusal (code and detail) or the same thrown error otherwise. Proofs it does not
 * take (unusual headers, keys, encodings) must fall back and so agree by construction; the cases
 * here cover both those and the ones it takes.
 */
import { base64url, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { nodeProofKeys } from '../../../src/adapters/platform/node-proof-keys.ts'
import { RelayError } from '../../../src/core/errors.ts'
import type { ProofKeys } from '../../../src/ports.ts'
import { DPOP_TYP, verifyDpopProof, type DpopRequest } from '../../../src/services/dpop.ts'
import { platformProofCheck } from '../../../src/services/dpop-platform.ts'
import examples from '../../vectors/jws-ec-examples.json' with { type: 'json' }

const REQUEST: DpopRequest = { method: 'POST', url: 'https://server.example.com/token' }
const IAT = examples.rfc9449Proof.iat
const NOW = IAT * 1000 + 2000
const CLAIMS = { jti: examples.rfc9449Proof.jti, htm: 'POST', htu: REQUEST.url, iat: IAT }

type Outcome = { accepted: unknown } | { refused: string; detail: string | undefined } | { threw: string }

const outcomeOf = async (run: () => Promise<unknown>): Promise<Outcome> => {
  try {
    return { accepted: await run() }
  } catch (error) {
    if (error instanceof RelayError) return { refused: error.code, detail: error.detail }
    return { threw: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }
  }
}

/** Whether the last {@link agreed} proof was checked by the platform (else it fell back). */
let platformChecked = false

/** Both paths' outcomes for `proof`, checked equal; returns the (common) outcome. */
const agreed = async (proof: string, nowMs = NOW, request = REQUEST): Promise<Outcome> => {
  const portable = await outcomeOf(() => verifyDpopProof(proof, request, nowMs))
  const node = nodeProofKeys()
  platformChecked = false
  const keys: ProofKeys = {
    verify: (...args) => {
      const checked = node.verify(...args)
      platformChecked = checked !== null
      return checked
    },
  }
  const platform = await outcomeOf(() => verifyDpopProof(proof, request, nowMs, { platform: platformProofCheck(keys) }))
  expect(platform).toEqual(portable)
  return portable
}

interface Signer {
  alg: 'ES256' | 'EdDSA'
  privateKey: CryptoKey
  jwk: JWK
}

const signer = async (alg: 'ES256' | 'EdDSA'): Promise<Signer> => {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { alg, privateKey, jwk: await exportJWK(publicKey) }
}

/** A JWS over any payload bytes with any protected header, even ones jose would not sign (the signature is genuine). */
const signRaw = async (s: Signer, payload: Uint8Array | string, header: Record<string, unknown> = {}): Promise<string> => {
  const encodedHeader = base64url.encode(JSON.stringify({ typ: DPOP_TYP, alg: s.alg, jwk: s.jwk, ...header }))
  const signingInput = `${encodedHeader}.${base64url.encode(payload)}`
  const algorithm = s.alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' }
  const signature = await crypto.subtle.sign(algorithm, s.privateKey, new TextEncoder().encode(signingInput))
  return `${signingInput}.${base64url.encode(new Uint8Array(signature))}`
}

const prove = (s: Signer, claims: Record<string, unknown> = CLAIMS, header: Record<string, unknown> = {}): Promise<string> =>
  signRaw(s, JSON.stringify(claims), header)

const segments = (jws: string): [string, string, string] => jws.split('.') as [string, string, string]

describe('DPoP verification on the platform path and on the portable path', () => {
  it('accept the RFC 9449 §4.1 example proof alike, with the RFC 9449 §6.1 thumbprint', async () => {
    const { proof, jkt, jti, iat } = examples.rfc9449Proof
    expect(await agreed(proof)).toEqual({ accepted: { jkt, jti, iat } })
    expect(platformChecked).toBe(true)
    // Two minutes later it is too old for both.
    expect(await agreed(proof, NOW + 120_000)).toEqual({ refused: 'INVALID_DPOP_PROOF', detail: 'DPoP proof is too old' })
  })

  it('accept fresh ES256 and EdDSA proofs alike', async () => {
    for (const alg of ['ES256', 'EdDSA'] as const) {
      const outcome = await agreed(await prove(await signer(alg)))
      expect(outcome).toHaveProperty('accepted')
      expect(platformChecked).toBe(true)
    }
  })

  it('refuse tampered proofs alike: signature, payload, header key', async () => {
    for (const alg of ['ES256', 'EdDSA'] as const) {
      const s = await signer(alg)
      const [h, p, sig] = segments(await prove(s))
      const bytes = base64url.decode(sig)
      bytes[5] = (bytes[5] as number) ^ 0x80
      expect(await agreed(`${h}.${p}.${base64url.encode(bytes)}`)).toEqual({
        refused: 'INVALID_DPOP_PROOF',
        detail: 'DPoP proof signature invalid',
      })
      expect(platformChecked).toBe(true)
      const otherPayload = base64url.encode(JSON.stringify({ ...CLAIMS, jti: 'another' }))
      expect(await agreed(`${h}.${otherPayload}.${sig}`)).toMatchObject({ detail: 'DPoP proof signature invalid' })
      const [otherHeader] = segments(await prove(await signer(alg)))
      expect(await agreed(`${otherHeader}.${p}.${sig}`)).toMatchObject({ detail: 'DPoP proof signature invalid' })
      expect(await agreed(`${h}.${p}.${sig.slice(0, -2)}`)).toHaveProperty('refused')
      expect(await agreed(`${h}.${p}.${sig}A`)).toHaveProperty('refused')
      expect(await agreed(`${h}.${p}.${sig}=`)).toBeDefined()
      expect(await agreed(`${h}.${p}.`)).toHaveProperty('refused')
      expect(await agreed(`${h}.${p}.${sig}.${sig}`)).toHaveProperty('refused')
      expect(await agreed(`${h}.${p}.${sig}.x.y`)).toHaveProperty('refused')
    }
  })

  it('refuse genuinely signed payloads that are no claims set, alike', async () => {
    const s = await signer('ES256')
    const payloads: Array<Uint8Array | string> = [
      'not json',
      '[1,2,3]',
      'null',
      '"text"',
      '42',
      Uint8Array.from([0xff, 0xfe, 0x7b, 0x7d]),
      `\uFEFF${JSON.stringify(CLAIMS)}`,
      JSON.stringify(CLAIMS).replace('"POST"', '"P\u00d6ST"'),
      `${JSON.stringify(CLAIMS)} `,
      '{"jti":"a","htm":"POST","htu":"https://server.example.com/token","iat":1562262616,"jti":"b"}',
    ]
    for (const payload of payloads) {
      await agreed(await signRaw(s, payload))
      expect(platformChecked).toBe(true)
    }
  })

  it('check the registered claims alike: required ones, iat, nbf, exp', async () => {
    const s = await signer('ES256')
    const now = Math.floor(NOW / 1000)
    const variants: Array<Record<string, unknown>> = [
      ...['jti', 'htm', 'htu', 'iat'].map((name) => Object.fromEntries(Object.entries(CLAIMS).filter(([k]) => k !== name))),
      { ...CLAIMS, iat: String(IAT) },
      { ...CLAIMS, iat: null },
      { ...CLAIMS, iat: IAT + 0.5 },
      { ...CLAIMS, nbf: now },
      { ...CLAIMS, nbf: now + 1 },
      { ...CLAIMS, nbf: String(now) },
      { ...CLAIMS, exp: now },
      { ...CLAIMS, exp: now + 1 },
      { ...CLAIMS, exp: now - 1 },
      { ...CLAIMS, exp: null },
      { ...CLAIMS, jti: '' },
      { ...CLAIMS, jti: 7 },
      { ...CLAIMS, htm: 'GET' },
      { ...CLAIMS, htu: 'https://server.example.com/other' },
      { ...CLAIMS, iss: 'x', aud: ['y'], sub: 1 },
    ]
    for (const claims of variants) {
      await agreed(await prove(s, claims))
      expect(platformChecked).toBe(true)
    }
    // A clock between two seconds, where truncation matters.
    await agreed(await prove(s, { ...CLAIMS, exp: now + 1 }), NOW + 999)
    await agreed(await prove(s, { ...CLAIMS, exp: now + 1 }), NOW + 1000)
  })

  it('fall back on headers and keys they do not take, and still agree', async () => {
    const s = await signer('ES256')
    const jwk = s.jwk as JWK & { x: string; y: string }
    const last = (text: string) => text.at(-1) as string
    const headers: Array<Record<string, unknown>> = [
      { crit: ['b64'], b64: true },
      { crit: ['exp'] },
      { kid: 'k1' },
      { jwk: { ...jwk, kid: 'k1' } },
      { jwk: { ...jwk, alg: 'ES256' } },
      { jwk: { ...jwk, alg: 'ES384' } },
      { jwk: { ...jwk, use: 'sig' } },
      { jwk: { ...jwk, use: 'enc' } },
      { jwk: { ...jwk, key_ops: ['verify'] } },
      { jwk: { ...jwk, key_ops: [] } },
      { jwk: { ...jwk, ext: false } },
      { jwk: { ...jwk, crv: 'P-384' } },
      { jwk: { ...jwk, kty: 'OKP' } },
      { jwk: { ...jwk, x: `${jwk.x.slice(0, -1)}${last(jwk.x) === 'A' ? 'B' : 'A'}` } },
      { jwk: { ...jwk, y: `${jwk.y}A` } },
      { jwk: { ...jwk, y: `${jwk.y.slice(1)}` } },
      { jwk: [jwk.kty, jwk.crv, jwk.x, jwk.y] },
      { alg: 'EdDSA' },
    ]
    const taken: boolean[] = []
    for (const header of headers) {
      await agreed(await prove(s, CLAIMS, header))
      taken.push(platformChecked)
    }
    // Only a `kid` beside the key (which neither path reads) leaves the proof on the platform path.
    expect(taken).toEqual(headers.map((header) => Object.keys(header).join() === 'kid'))
  })
})
