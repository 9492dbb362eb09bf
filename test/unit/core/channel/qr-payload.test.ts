import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { base64nopad, hex } from '@scure/base'
import {
  canonicalBaseUrl,
  decodeQrPayload,
  encodeQrPayload,
  type Msc4388Qr,
  type QrPayload,
} from '../../../../src/core/channel/qr-payload.ts'
import vectors from '../../../vectors/qr-payloads.json' with { type: 'json' }

const KEY = base64nopad.decode('2IZoarIZe3gOMAqdSiFHSAcA15KfOasxueUUNwJI7Ws')
const ID = 'e8da6355-550b-4a32-a193-1619d9830668'
const BASE = 'https://matrix-client.matrix.org'
const RZ_URL = `https://rendezvous.lab.element.dev/${ID}`

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const u16 = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff)
const cat = (...parts: (Uint8Array | string | number[])[]): Uint8Array => {
  const arrays = parts.map((p) => (typeof p === 'string' ? text(p) : Array.isArray(p) ? Uint8Array.from(p) : p))
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0))
  let at = 0
  for (const a of arrays) {
    out.set(a, at)
    at += a.length
  }
  return out
}
const str16 = (s: string | Uint8Array): Uint8Array => {
  const b = typeof s === 'string' ? text(s) : s
  return cat(u16(b.length), b)
}
const str8 = (s: string | Uint8Array): Uint8Array => {
  const b = typeof s === 'string' ? text(s) : s
  return cat([b.length], b)
}

/** A well-formed payload of each layout, as bytes, to break in the malformed cases. */
const login2024 = (): Uint8Array => cat('MATRIX', [0x02, 0x03], KEY, str16(RZ_URL))
const recip2024 = (): Uint8Array => cat('MATRIX', [0x02, 0x04], KEY, str16(RZ_URL), str16('matrix.org'))
const msc4388 = (id: Uint8Array = str16(ID), base: Uint8Array = str16(BASE)): Uint8Array =>
  cat('IO_ELEMENT_MSC4388', [0x03, 0x00], KEY, id, base)

const expected = (e: { publicKey: string }): QrPayload => ({ ...e, publicKey: base64nopad.decode(e.publicKey) }) as unknown as QrPayload

describe('decodeQrPayload', () => {
  it.each(vectors.cases)('decodes the published vector: $name', ({ hex: h, expect: e }) => {
    expect(decodeQrPayload(hex.decode(h))).toEqual({ ok: true, value: expected(e) })
  })

  it.each(vectors.cases)('re-encodes to the same bytes: $name', ({ hex: h }) => {
    const decoded = decodeQrPayload(hex.decode(h))
    if (!decoded.ok) throw new Error(decoded.detail)
    expect(encodeQrPayload(decoded.value)).toEqual({ ok: true, value: hex.decode(h) })
  })

  it('reads the same channel from the u8 and u16 ID-length variants when the ID is 1 or 255 bytes', () => {
    for (const id of ['a', 'Z'.repeat(255)]) {
      for (const idLength of ['u8', 'u16'] as const) {
        const qr: Msc4388Qr = {
          kind: 'msc4388',
          intent: 'login',
          publicKey: KEY,
          rendezvousId: id,
          baseUrl: BASE,
          prefix: 'unstable',
          idLength,
        }
        const bytes = encodeQrPayload(qr)
        if (!bytes.ok) throw new Error(bytes.detail)
        expect(decodeQrPayload(bytes.value)).toEqual({ ok: true, value: qr })
      }
    }
  })
})

describe('encodeQrPayload', () => {
  it('writes what crypto-wasm 18.9.0 writes (unstable prefix, u16 ID length) by default', () => {
    const bytes = encodeQrPayload({ kind: 'msc4388', intent: 'login', publicKey: KEY, rendezvousId: ID, baseUrl: BASE })
    const shipped = vectors.cases.find((c) => c.name.startsWith('what crypto-wasm'))
    expect(bytes).toEqual({ ok: true, value: hex.decode(shipped!.hex) })
  })

  it('writes the MSC text form when asked for the stable prefix and a u8 ID length', () => {
    const bytes = encodeQrPayload({
      kind: 'msc4388',
      intent: 'reciprocate',
      publicKey: KEY,
      rendezvousId: ID,
      baseUrl: BASE,
      prefix: 'stable',
      idLength: 'u8',
    })
    expect(bytes).toEqual({ ok: true, value: hex.decode(vectors.cases[1]!.hex) })
  })

  it('is inverted by decodeQrPayload for any MSC4388 payload', () => {
    const arb = fc.record({
      kind: fc.constant('msc4388' as const),
      intent: fc.constantFrom('login' as const, 'reciprocate' as const),
      publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      rendezvousId: fc.stringMatching(/^[0-9A-Za-z._~-]{1,255}$/),
      baseUrl: fc.webUrl({ validSchemes: ['https', 'http'], withQueryParameters: true }),
      prefix: fc.constantFrom('stable' as const, 'unstable' as const),
      idLength: fc.constantFrom('u8' as const, 'u16' as const),
    })
    fc.assert(
      fc.property(arb, (qr) => {
        const bytes = encodeQrPayload(qr)
        if (!bytes.ok) throw new Error(bytes.detail)
        expect(decodeQrPayload(bytes.value)).toEqual({ ok: true, value: qr })
      }),
      { numRuns: 300, seed: 4388 },
    )
  })

  it('is inverted by decodeQrPayload for any 2024 payload, whatever Unicode the server name holds', () => {
    const arb = fc.oneof(
      fc.record({
        kind: fc.constant('msc4108' as const),
        intent: fc.constant('login' as const),
        publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        rendezvousUrl: fc.webUrl({ validSchemes: ['https', 'http'] }),
      }),
      fc.record({
        kind: fc.constant('msc4108' as const),
        intent: fc.constant('reciprocate' as const),
        publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        rendezvousUrl: fc.webUrl({ validSchemes: ['https', 'http'] }),
        serverName: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      }),
    )
    fc.assert(
      fc.property(arb, (qr) => {
        const bytes = encodeQrPayload(qr)
        if (!bytes.ok) throw new Error(bytes.detail)
        expect(decodeQrPayload(bytes.value)).toEqual({ ok: true, value: qr })
      }),
      { numRuns: 300, seed: 4108 },
    )
  })

  const msc4388Base: Msc4388Qr = { kind: 'msc4388', intent: 'login', publicKey: KEY, rendezvousId: ID, baseUrl: BASE }
  it.each([
    ['a 31-byte key', { ...msc4388Base, publicKey: KEY.slice(1) }, 'public key'],
    ['an empty ID', { ...msc4388Base, rendezvousId: '' }, 'opaque identifier'],
    ['a 256-byte ID', { ...msc4388Base, rendezvousId: 'a'.repeat(256) }, 'opaque identifier'],
    ['an ID with a space', { ...msc4388Base, rendezvousId: 'a b' }, 'opaque identifier'],
    ['a non-http base URL', { ...msc4388Base, baseUrl: 'ftp://matrix.org' }, 'http(s)'],
    ['a relative base URL', { ...msc4388Base, baseUrl: '/matrix' }, 'http(s)'],
    ['a base URL over 65535 bytes', { ...msc4388Base, baseUrl: `https://a.example/${'x'.repeat(65_535)}` }, 'bad length'],
    ['a 2024 URL with a leading space', { kind: 'msc4108', intent: 'login', publicKey: KEY, rendezvousUrl: ` ${RZ_URL}` }, 'http(s)'],
    [
      'an empty server name',
      { kind: 'msc4108', intent: 'reciprocate', publicKey: KEY, rendezvousUrl: RZ_URL, serverName: '' },
      'bad length',
    ],
    [
      'a lone surrogate',
      { kind: 'msc4108', intent: 'reciprocate', publicKey: KEY, rendezvousUrl: RZ_URL, serverName: 'a\ud800' },
      'Unicode',
    ],
  ] as [string, QrPayload, string][])('refuses %s', (_, qr, detail) => {
    const result = encodeQrPayload(qr)
    expect(result).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    expect(result.ok ? '' : result.detail).toContain(detail)
  })
})

describe('decodeQrPayload on malformed input', () => {
  const ffBytes = Uint8Array.of(0xff, 0xfe)
  it.each([
    ['empty input', new Uint8Array(0), 'truncated'],
    ['half a prefix', text('MATR'), 'truncated'],
    ['another prefix', cat('MATRIZ', [0x02, 0x03], KEY, str16(RZ_URL)), 'wrong prefix'],
    ['a lower-case prefix', cat('matrix', [0x02, 0x03], KEY, str16(RZ_URL)), 'wrong prefix'],
    ['no version byte', text('MATRIX'), 'truncated'],
    ['an unknown version', cat('MATRIX', [0x05, 0x03], KEY, str16(RZ_URL)), 'unknown version 0x05'],
    ['an unknown MSC4388 type', cat('IO_ELEMENT_MSC4388', [0x02, 0x00], KEY, str16(ID), str16(BASE)), 'unknown version 0x02'],
    ['a 2024 intent from MSC4388', cat('MATRIX', [0x02, 0x00], KEY, str16(RZ_URL)), 'device verification'],
    ['an unknown 2024 intent', cat('MATRIX', [0x02, 0x05], KEY, str16(RZ_URL)), 'unknown intent 0x05'],
    ['an MSC4388 intent from 2024', cat('IO_ELEMENT_MSC4388', [0x03, 0x03], KEY, str16(ID), str16(BASE)), 'unknown intent 0x03'],
    ['no intent byte', cat('MATRIX', [0x02]), 'truncated'],
    ['a short key', cat('MATRIX', [0x02, 0x03], KEY.slice(0, 20)), 'truncated'],
    ['no URL length', cat('MATRIX', [0x02, 0x03], KEY), 'truncated'],
    ['a URL shorter than its length', login2024().slice(0, -1), 'truncated'],
    ['a reciprocate code without server name', cat('MATRIX', [0x02, 0x04], KEY, str16(RZ_URL)), 'truncated'],
    ['a server name shorter than its length', recip2024().slice(0, -3), 'truncated'],
    ['bytes after a 2024 login payload', cat(login2024(), [0x00]), 'trailing bytes'],
    ['bytes after a 2024 reciprocate payload', cat(recip2024(), 'x'), 'trailing bytes'],
    ['bytes after an MSC4388 payload', cat(msc4388(), [0, 0]), 'trailing bytes'],
    ['an empty server name', cat('MATRIX', [0x02, 0x04], KEY, str16(RZ_URL), u16(0)), 'bad length'],
    ['a server name that is not UTF-8', cat('MATRIX', [0x02, 0x04], KEY, str16(RZ_URL), str16(ffBytes)), 'UTF-8'],
    ['a URL that is not UTF-8', cat('MATRIX', [0x02, 0x03], KEY, str16(Uint8Array.of(0xc3, 0x28))), 'UTF-8'],
    ['a non-http rendezvous URL', cat('MATRIX', [0x02, 0x03], KEY, str16('javascript:alert(1)')), 'http(s)'],
    ['a relative rendezvous URL', cat('MATRIX', [0x02, 0x03], KEY, str16('/rendezvous/abc')), 'http(s)'],
    ['an empty rendezvous URL', cat('MATRIX', [0x02, 0x03], KEY, u16(0)), 'http(s)'],
    ['an empty MSC4388 ID', msc4388(u16(0)), 'bad length'],
    ['no MSC4388 ID length', cat('IO_ELEMENT_MSC4388', [0x03, 0x00], KEY), 'truncated'],
    ['an MSC4388 ID shorter than its length', cat('IO_ELEMENT_MSC4388', [0x03, 0x00], KEY, u16(40), ID), 'truncated'],
    ['an MSC4388 ID that is not UTF-8', msc4388(str8(ffBytes)), 'UTF-8'],
    ['an MSC4388 ID outside the opaque grammar', msc4388(str8('abc/def')), 'opaque identifier'],
    ['an MSC4388 base URL that is not http(s)', msc4388(str16(ID), str16('matrix.org')), 'http(s)'],
    ['an MSC4388 base URL with a newline', msc4388(str16(ID), str16(`${BASE}\n`)), 'http(s)'],
    ['an MSC4388 base URL shorter than its length', msc4388().slice(0, -1), 'truncated'],
    ['a stable MSC4388 code cut after the key', cat('MATRIX', [0x03, 0x01], KEY), 'truncated'],
  ] as [string, Uint8Array, string][])('refuses %s', (_, bytes, detail) => {
    const result = decodeQrPayload(bytes)
    expect(result).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    expect(result.ok ? '' : result.detail).toContain(detail)
  })

  it('refuses every strict prefix of every vector as truncated', () => {
    for (const { hex: h } of vectors.cases) {
      const bytes = hex.decode(h)
      for (let n = 0; n < bytes.length; n++) {
        const result = decodeQrPayload(bytes.slice(0, n))
        expect(result.ok, `${h} cut at ${n}`).toBe(false)
      }
    }
  })
})

describe('canonicalBaseUrl', () => {
  it('drops the trailing slash of a root path, as rust-sdk writes it', () => {
    expect(canonicalBaseUrl('https://matrix-client.matrix.org/')).toBe(BASE)
    expect(canonicalBaseUrl('HTTPS://Matrix-Client.Matrix.org')).toBe(BASE)
  })

  it('keeps a path as it is', () => {
    expect(canonicalBaseUrl('https://example.org/matrix/')).toBe('https://example.org/matrix/')
  })

  it('is null for a non-http URL', () => {
    expect(canonicalBaseUrl('matrix.org')).toBeNull()
  })
})
