import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nodeHmacSha256, nodeTextSha256, streamedTextSha256, streamedWriteToken } from '../../../src/adapters/platform/node.ts'
import { opaqueKey } from '../../../src/adapters/storage/opaque-key.ts'
import { nodeOpaqueKey } from '../../../src/adapters/storage/opaque-key-node.ts'
import { hashSecret } from '../../../src/core/crypto/secrets.ts'
import { isMintedChannelId, mintChannelId, portableHmacSha256 } from '../../../src/core/rendezvous/channel-id.ts'
import { portableTextSha256, writeToken } from '../../../src/core/rendezvous/channel.ts'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
/** Deterministic bytes 0, 1, 2, … (mod 256) of `length`, shifted by `seed`. */
const bytesOf = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 7 + seed) % 256)

describe('nodeHmacSha256', () => {
  it('gives the RFC 4231 test case 2 value', () => {
    const mac = nodeHmacSha256(new TextEncoder().encode('Jefe'), new TextEncoder().encode('what do ya want for nothing?'))
    expect(hex(mac)).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')
  })

  it('is byte-identical to the portable HMAC on keys and inputs of many lengths', () => {
    for (const keyLength of [0, 1, 16, 32, 63, 64, 65, 200]) {
      for (const dataLength of [0, 1, 37, 55, 56, 64, 128, 1000]) {
        const key = bytesOf(keyLength, keyLength)
        const data = bytesOf(dataLength, dataLength + 3)
        expect(hex(nodeHmacSha256(key, data))).toBe(hex(portableHmacSha256(key, data)))
      }
    }
  })

  it('mints the same channel ids as the portable HMAC, and each recognises the other', () => {
    const keys = [bytesOf(32, 1), bytesOf(32, 2)] as const
    for (let seed = 0; seed < 50; seed++) {
      const nonce = bytesOf(16, seed)
      const id = mintChannelId(keys, nonce, nodeHmacSha256)
      expect(id).toBe(mintChannelId(keys, nonce))
      expect(isMintedChannelId(keys, id)).toBe(true)
      expect(isMintedChannelId([bytesOf(32, 2)], mintChannelId([bytesOf(32, 2)], nonce), nodeHmacSha256)).toBe(true)
      expect(isMintedChannelId([bytesOf(32, 3)], id, nodeHmacSha256)).toBe(false)
    }
  })
})

describe('opaqueKey', () => {
  it('names a value by its SHA-256, the same on the first call and on a remembered one', () => {
    const value = 'rl:write:abc:127.0.0.1'
    const expected = createHash('sha256').update(value).digest('base64url').slice(0, 22)
    expect(opaqueKey(value)).toBe(expected)
    expect(opaqueKey(value)).toBe(expected)
    expect(opaqueKey(value)).toBe(hashSecret(value).slice(0, 22))
  })

  it('stays right past the bound of remembered names', () => {
    for (let i = 0; i < 10_050; i++) opaqueKey(`k${i}`)
    expect(opaqueKey('k3')).toBe(hashSecret('k3').slice(0, 22))
    expect(opaqueKey('k10049')).toBe(hashSecret('k10049').slice(0, 22))
  })
})

describe('nodeTextSha256', () => {
  it('gives the same bytes with the hash a runtime injects (lone surrogates included)', () => {
    for (const data of ['', 'x', '€😀', 'a\uD800b', '\uDC00', 'a'.repeat(5000)]) {
      expect(writeToken('id', 'tok', data, nodeTextSha256)).toBe(writeToken('id', 'tok', data))
      expect(writeToken('id', 'tok', data, streamedTextSha256)).toBe(writeToken('id', 'tok', data))
    }
  })

  it('finishes the same write token natively as the core encodes from the bytes, for any text', () => {
    const portable = (preimage: string): string => Buffer.from(portableTextSha256(preimage).subarray(0, 16)).toString('base64url')
    const unit = fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\u0000', '€', '😀', 'é'),
    )
    const text = fc.oneof(fc.string({ unit, maxLength: 60 }), fc.string({ unit, minLength: 1000, maxLength: 5000 }))
    fc.assert(
      fc.property(text, text, text, (id, previous, data) => {
        const expected = writeToken(id, previous, data)
        expect(writeToken(id, previous, data, nodeTextSha256)).toBe(expected)
        const preimage = `${id}\u0000${previous}\u0000${data}`
        expect(nodeTextSha256.token?.(preimage)).toBe(expected)
        expect(streamedWriteToken(preimage)).toBe(expected)
        expect(portable(preimage)).toBe(expected)
      }),
      { numRuns: 500 },
    )
  })

  it('gets every ending of a 16-byte encoding right (each of the 64 values of the 22nd character)', () => {
    const endings = new Map<string, string>()
    for (let i = 0; endings.size < 64 && i < 100_000; i++) {
      const preimage = `chan\u0000${i}\u0000`
      const whole = createHash('sha256').update(preimage).digest('base64url')
      const token = writeToken('chan', String(i), '', nodeTextSha256)
      expect(token).toBe(writeToken('chan', String(i), ''))
      expect(token).toMatch(/^[A-Za-z0-9_-]{21}[AQgw]$/)
      endings.set(whole.charAt(21), token)
    }
    expect(endings.size).toBe(64)
  })
})

describe('nodeOpaqueKey', () => {
  it('names every value as opaqueKey does (lone surrogates and non-ASCII included)', () => {
    for (const value of ['', 'x', 'write:abc:127.0.0.1', '€😀', 'a\uD800b', '\uDC00', 'z'.repeat(5000)]) {
      expect(nodeOpaqueKey(value)).toBe(hashSecret(value).slice(0, 22))
      expect(nodeOpaqueKey(value)).toBe(opaqueKey(value))
    }
    for (let i = 0; i < 200; i++) expect(nodeOpaqueKey(`k${i}:${'é'.repeat(i)}`)).toBe(hashSecret(`k${i}:${'é'.repeat(i)}`).slice(0, 22))
  })
})
