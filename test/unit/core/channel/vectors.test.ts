/**
 * Published vectors for the primitives under the secure channel, run before anything of ours:
 * X25519 (RFC 7748 §5.2, §6.1), ChaCha20-Poly1305 (RFC 8439 §2.8.2), HKDF (RFC 5869 A.1), and
 * HKDF-SHA-512 as the channel uses it (no salt) against node:crypto.
 */
import { hkdfSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { x25519 } from '@noble/curves/ed25519.js'
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { hex } from '@scure/base'
import x25519Vectors from '../../../vectors/rfc7748-x25519.json' with { type: 'json' }
import aeadVectors from '../../../vectors/rfc8439-chacha20poly1305.json' with { type: 'json' }
import hkdfVectors from '../../../vectors/rfc5869-hkdf.json' with { type: 'json' }
import { agreeX25519 } from '../../../../src/core/channel/keys.ts'
import { hkdfSha512 } from '../../../../src/core/channel/kdf.ts'
import { openCounter } from '../../../../src/core/channel/aead.ts'
import { unwrap } from './channel-fixture.ts'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('X25519 (RFC 7748)', () => {
  it.each(x25519Vectors.scalar_mult)('gives the §5.2 output for $name', (v) => {
    expect(hex.encode(unwrap(agreeX25519(hex.decode(v.scalar_hex), hex.decode(v.u_hex))))).toBe(v.output_hex)
  })

  it('gives the §5.2 iterated outputs after 1 and 1000 rounds', () => {
    let k: Uint8Array = hex.decode(x25519Vectors.iterated.start_hex)
    let u: Uint8Array = k.slice()
    for (let round = 1; round <= 1000; round++) {
      const next = x25519.getSharedSecret(k, u)
      u = k
      k = next
      if (round === 1) expect(hex.encode(k)).toBe(x25519Vectors.iterated.after_1_hex)
    }
    expect(hex.encode(k)).toBe(x25519Vectors.iterated.after_1000_hex)
  })

  it('agrees on the §6.1 shared secret from both sides', () => {
    const dh = x25519Vectors.diffie_hellman
    const [a, b] = [hex.decode(dh.alice_secret_hex), hex.decode(dh.bob_secret_hex)]
    expect(hex.encode(x25519.getPublicKey(a))).toBe(dh.alice_public_hex)
    expect(hex.encode(x25519.getPublicKey(b))).toBe(dh.bob_public_hex)
    expect(hex.encode(unwrap(agreeX25519(a, hex.decode(dh.bob_public_hex))))).toBe(dh.shared_hex)
    expect(hex.encode(unwrap(agreeX25519(b, hex.decode(dh.alice_public_hex))))).toBe(dh.shared_hex)
  })
})

describe('ChaCha20-Poly1305 (RFC 8439 §2.8.2)', () => {
  it.each(aeadVectors.cases)('seals and opens $name', (v) => {
    const cipher = () => chacha20poly1305(hex.decode(v.key_hex), hex.decode(v.nonce_hex), hex.decode(v.aad_hex))
    const sealed = cipher().encrypt(utf8(v.plaintext))
    expect(hex.encode(sealed)).toBe(v.ciphertext_hex + v.tag_hex)
    expect(new TextDecoder().decode(cipher().decrypt(sealed))).toBe(v.plaintext)
  })

  it('refuses the §2.8.2 ciphertext through our no-AAD open', () => {
    // The channel never uses associated data, so a message sealed with AAD must not open.
    const v = aeadVectors.cases[0] as (typeof aeadVectors.cases)[number]
    expect(openCounter(hex.decode(v.key_hex), 7, hex.decode(v.ciphertext_hex + v.tag_hex))).toBeNull()
  })
})

describe('HKDF', () => {
  it.each(hkdfVectors.cases)('gives the RFC 5869 $name output with SHA-256', (v) => {
    const okm = hkdf(sha256, hex.decode(v.ikm_hex), hex.decode(v.salt_hex), hex.decode(v.info_hex), v.length)
    expect(hex.encode(okm)).toBe(v.okm_hex)
    const viaNode = hkdfSync('sha256', hex.decode(v.ikm_hex), hex.decode(v.salt_hex), hex.decode(v.info_hex), v.length)
    expect(hex.encode(new Uint8Array(viaNode))).toBe(v.okm_hex)
  })

  it('matches node:crypto for SHA-512 with the salt absent', () => {
    for (let n = 0; n < 16; n++) {
      const ikm = Uint8Array.from({ length: 32 }, (_, i) => (i * 31 + n * 7) & 0xff)
      const info = `MATRIX_QR_CODE_LOGIN_ENCKEY_S|case${n}|${'x'.repeat(n)}`
      for (const length of [2, 32, 64, 100]) {
        const expected = new Uint8Array(hkdfSync('sha512', ikm, new Uint8Array(0), utf8(info), length))
        expect(hkdfSha512(ikm, info, length)).toEqual(expected)
      }
    }
  })
})
