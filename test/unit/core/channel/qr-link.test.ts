import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { base64urlnopad } from '@scure/base'
import {
  MAX_FRAGMENT_CHARS,
  approveUrlOf,
  encodeChannelLink,
  pageUrlOf,
  parseChannelFragment,
  parseChannelLink,
  type ChannelLink,
} from '../../../../src/core/channel/qr-link.ts'

const BASE = 'https://relay.example'
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7)
const CHANNEL = 'Hq3x_9-kLmN0pQrStUvWxY'
const TICKET = 'eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJIcTN4In0.c2lnbmF0dXJlLWJ5dGVz'
const LINK: ChannelLink = { intent: 'login', publicKey: KEY, channelId: CHANNEL, ticket: TICKET }
const RECIPROCATE: ChannelLink = { ...LINK, intent: 'reciprocate' }

const headOf = (bytes: number[] | Uint8Array): string => base64urlnopad.encode(Uint8Array.from(bytes))
const ID_BYTES = [...new TextEncoder().encode(CHANNEL)]
const goodHead = headOf([...KEY, 0x00, CHANNEL.length, ...ID_BYTES])
const reciprocateHead = headOf([...KEY, 0x01, CHANNEL.length, ...ID_BYTES])
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
/** The same bytes spelled with a non-zero unused low bit in the last character. */
const respelled = (head: string): string => head.slice(0, -1) + ALPHABET[ALPHABET.indexOf(head.at(-1) as string) | 1]

const encoded = (base = BASE, link = LINK): string => {
  const result = encodeChannelLink(base, link)
  if (!result.ok) throw new Error(result.detail)
  return result.value
}

describe('encodeChannelLink', () => {
  it('builds an approve-page link whose fragment holds the key, intent 0x00, the id and the ticket when the intent is login', () => {
    const link = encoded()
    expect(link).toBe(`https://relay.example/approve#v1.${goodHead}.${TICKET}`)
  })

  it('builds a link-page link with intent 0x01 when the intent is reciprocate', () => {
    expect(encoded(BASE, RECIPROCATE)).toBe(`https://relay.example/link#v1.${reciprocateHead}.${TICKET}`)
  })

  it.each([LINK, RECIPROCATE])('is inverted by parseChannelLink and parseChannelFragment when the intent is $intent', (value) => {
    const link = encoded(BASE, value)
    expect(parseChannelLink(link, BASE)).toEqual({ ok: true, value })
    expect(parseChannelFragment(new URL(link).hash)).toEqual({ ok: true, value })
    expect(parseChannelFragment(new URL(link).hash.slice(1))).toEqual({ ok: true, value })
  })

  it('round-trips any intent, key, opaque id and compact JWS', () => {
    const part = fc.stringMatching(/^[A-Za-z0-9_-]{1,200}$/)
    const arb = fc.record({
      intent: fc.constantFrom<ChannelLink['intent']>('login', 'reciprocate'),
      publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      channelId: fc.stringMatching(/^[0-9A-Za-z._~-]{1,255}$/),
      ticket: fc.tuple(part, part, part).map((p) => p.join('.')),
    })
    fc.assert(
      fc.property(arb, (link) => {
        const url = encodeChannelLink(BASE, link)
        if (!url.ok) throw new Error(url.detail)
        expect(parseChannelLink(url.value, BASE)).toEqual({ ok: true, value: link })
      }),
      { numRuns: 300, seed: 7 },
    )
  })

  it('keeps a path prefix of the base URL and drops its trailing slash', () => {
    expect(encoded('https://relay.example/qr/')).toMatch(/^https:\/\/relay\.example\/qr\/approve#v1\./)
    expect(encoded('https://relay.example/qr/', RECIPROCATE)).toMatch(/^https:\/\/relay\.example\/qr\/link#v1\./)
    expect(parseChannelLink(encoded('https://relay.example/qr/'), 'https://relay.example/qr')).toMatchObject({ ok: true })
    expect(parseChannelLink(encoded('https://relay.example/qr/', RECIPROCATE), 'https://relay.example/qr')).toMatchObject({
      ok: true,
      value: { intent: 'reciprocate' },
    })
  })

  it.each([
    ['an unknown intent', { ...LINK, intent: 'approve' as ChannelLink['intent'] }, 'unknown intent'],
    ['a 31-byte key', { ...LINK, publicKey: KEY.slice(1) }, 'public key'],
    ['an id outside the opaque grammar', { ...LINK, channelId: 'a/b' }, 'opaque identifier'],
    ['a ticket of two parts', { ...LINK, ticket: 'a.b' }, 'compact JWS'],
    ['a ticket with padding', { ...LINK, ticket: 'a.b.c=' }, 'compact JWS'],
    ['a ticket with an empty part', { ...LINK, ticket: 'a..c' }, 'compact JWS'],
    ['a ticket too long for a QR link', { ...LINK, ticket: `a.${'b'.repeat(MAX_FRAGMENT_CHARS)}.c` }, 'exceeds'],
  ] as [string, ChannelLink, string][])('refuses %s', (_, link, detail) => {
    const result = encodeChannelLink(BASE, link)
    expect(result).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    expect(result.ok ? '' : result.detail).toContain(detail)
  })
})

describe('pageUrlOf', () => {
  it('points login links at /approve and reciprocate links at /link', () => {
    expect(pageUrlOf('https://relay.example/', 'login')).toEqual({ ok: true, value: 'https://relay.example/approve' })
    expect(pageUrlOf('https://relay.example/', 'reciprocate')).toEqual({ ok: true, value: 'https://relay.example/link' })
    expect(approveUrlOf('https://relay.example/')).toEqual({ ok: true, value: 'https://relay.example/approve' })
  })

  it('refuses a bad base URL whatever the intent', () => {
    expect(pageUrlOf('http://relay.example', 'reciprocate')).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
  })
})

describe('approveUrlOf', () => {
  it.each(['http://localhost:8080', 'http://127.0.0.1:3000/', 'http://[::1]:8080', 'http://app.localhost'])(
    'allows plain http on the loopback host %s',
    (base) => {
      expect(approveUrlOf(base)).toMatchObject({ ok: true })
    },
  )

  it.each([
    ['plain http on a public host', 'http://relay.example'],
    ['a query', 'https://relay.example/?a=1'],
    ['a fragment', 'https://relay.example/#x'],
    ['credentials', 'https://user:pw@relay.example'],
    ['another scheme', 'ftp://relay.example'],
    ['a relative URL', '/relay'],
  ])('refuses a base URL with %s', (_, base) => {
    expect(approveUrlOf(base)).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
  })
})

describe('parseChannelLink', () => {
  const link = encoded()
  const fragment = new URL(link).hash

  const reciprocateFragment = new URL(encoded(BASE, RECIPROCATE)).hash

  it.each([
    ['another origin', `https://evil.example/approve${fragment}`, 'approve or link page'],
    ['another port', `https://relay.example:8443/approve${fragment}`, 'approve or link page'],
    ['plain http', link.replace('https:', 'http:'), 'approve or link page'],
    ['another path', `https://relay.example/approve/x${fragment}`, 'approve or link page'],
    ['a login fragment on the link page', `https://relay.example/link${fragment}`, 'does not match its intent'],
    ['a reciprocate fragment on the approve page', `https://relay.example/approve${reciprocateFragment}`, 'does not match its intent'],
    ['a fragment of an unknown intent', `https://relay.example/approve#v1.${headOf([...KEY, 0x02, 1, 0x61])}.${TICKET}`, 'unknown intent'],
    ['a query', `https://relay.example/approve?next=1${fragment}`, 'query'],
    ['credentials', `https://a@relay.example/approve${fragment}`, 'credentials'],
    ['no fragment', 'https://relay.example/approve', 'no fragment'],
    ['text that is not a URL', 'relay.example/approve', 'http(s)'],
  ])('refuses a link with %s', (_, text, detail) => {
    const result = parseChannelLink(text, BASE)
    expect(result).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    expect(result.ok ? '' : result.detail).toContain(detail)
  })
})

describe('parseChannelFragment', () => {
  const id = ID_BYTES
  it.each([
    ['another version', `v2.${goodHead}.${TICKET}`, 'unknown link version'],
    ['no version', `${goodHead}.${TICKET}`, 'unknown link version'],
    ['four parts', `v1.${goodHead}.a.b`, 'must be v1'],
    ['six parts', `v1.${goodHead}.${TICKET}.x`, 'must be v1'],
    ['a head that is not base64url', `v1.${goodHead.slice(0, -1)}+.${TICKET}`, 'base64url'],
    ['a head with non-zero padding bits', `v1.${respelled(headOf([...KEY, 0, 1, 0x61]))}.${TICKET}`, 'base64url'],
    ['a short key', `v1.${headOf(KEY.slice(0, 31))}.${TICKET}`, 'truncated'],
    ['no intent byte', `v1.${headOf(KEY)}.${TICKET}`, 'no intent byte'],
    ['intent 0x02', `v1.${headOf([...KEY, 0x02, id.length, ...id])}.${TICKET}`, 'unknown intent 0x02'],
    ['intent 0xff', `v1.${headOf([...KEY, 0xff, id.length, ...id])}.${TICKET}`, 'unknown intent 0xff'],
    ['a head without the intent byte (the old layout)', `v1.${headOf([...KEY, id.length, ...id])}.${TICKET}`, 'unknown intent'],
    ['no id length', `v1.${headOf([...KEY, 0])}.${TICKET}`, 'truncated'],
    ['an id shorter than its length', `v1.${headOf([...KEY, 0, 30, ...id])}.${TICKET}`, 'truncated'],
    ['trailing bytes', `v1.${headOf([...KEY, 0, id.length, ...id, 0])}.${TICKET}`, 'trailing bytes'],
    ['an empty id', `v1.${headOf([...KEY, 0, 0])}.${TICKET}`, 'opaque identifier'],
    ['an id outside the grammar', `v1.${headOf([...KEY, 1, 3, 0x61, 0x2f, 0x62])}.${TICKET}`, 'opaque identifier'],
    ['an id that is not UTF-8', `v1.${headOf([...KEY, 0, 2, 0xc3, 0x28])}.${TICKET}`, 'opaque identifier'],
    ['an empty ticket part', `v1.${goodHead}.a..c`, 'compact JWS'],
    ['a ticket part with a space', `v1.${goodHead}.a.b c.d`, 'compact JWS'],
    ['an oversized fragment', `v1.${goodHead}.a.${'b'.repeat(MAX_FRAGMENT_CHARS)}.c`, 'exceeds'],
  ])('refuses %s', (_, text, detail) => {
    const result = parseChannelFragment(text)
    expect(result).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    expect(result.ok ? '' : result.detail).toContain(detail)
  })
})
