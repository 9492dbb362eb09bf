import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ipv4Of,
  ipv6PrefixOf,
  PackedChannel,
  packChannel,
  packedWrite,
  textOfIpv4,
  textOfIpv6Prefix,
  unpackChannel,
} from '../../../src/adapters/storage/packed-channel.ts'
import { parseAddress, rateKeyOf } from '../../../src/core/policy/network.ts'
import { createChannel, writeChannel, type ChannelRecord } from '../../../src/core/rendezvous/channel.ts'
import { claimChannel } from '../../../src/core/rendezvous/party.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

/** Packs and unpacks; the record must come back equal, with its keys in the same order. */
const roundTrip = (record: ChannelRecord, id = record.id): ChannelRecord => {
  const back = unpackChannel(id, packChannel(id, record))
  expect(back).toStrictEqual(record)
  expect(Object.keys(back)).toEqual(Object.keys(record))
  return back
}

describe('packed channel records', () => {
  const clock = fakeClock()
  const base = (extra: Partial<Parameters<typeof createChannel>[0]> = {}): ChannelRecord =>
    createChannel({ id: 'abcDEF123_-abcDEF123_-', api: 'msc4388', data: '', now: clock.now(), ttlMs: 120_000, ...extra })

  it('packs a pending channel from an IPv4 client and gives it back exactly', () => {
    const record = base({ creatorNetwork: '198.51.100.7' })
    const stored = packChannel(record.id, record)
    expect(stored).toBeInstanceOf(PackedChannel)
    expect((stored as PackedChannel).network).toBeTypeOf('number')
    expect(stored.expiresAtMs).toBe(record.expiresAtMs)
    expect(stored.rev).toBe(0)
    roundTrip(record)
  })

  it('gives back every kind of record the services store', () => {
    for (const api of ['msc4108', 'msc4388', 'native'] as const) {
      roundTrip(base({ api }))
      roundTrip(base({ api, creatorNetwork: '2001:db8:1:2::/64' }))
      roundTrip(base({ api, creatorNetwork: '203.0.113.9', creatorAsn: 64_500, data: 'héllo ✓' }))
      roundTrip(base({ api, creatorSecretHash: 'h'.repeat(43), creatorNetwork: '203.0.113.9', creatorAsn: 64_500 }))
    }
    let record = base({ api: 'native', creatorSecretHash: 'c'.repeat(43), creatorNetwork: '192.0.2.1' })
    const claimed = claimChannel(record, 'j'.repeat(43), '192.0.2.200')
    if (!claimed.ok) throw new Error('claim')
    record = roundTrip(claimed.value)
    for (let i = 0; i < 5; i++) {
      clock.advance(1234)
      const next = writeChannel(record, { data: `payload ${i}`, expectedToken: record.token, now: clock.now(), idempotentRetry: false })
      if (!next.ok) throw new Error('write')
      record = roundTrip(next.value.record)
    }
    expect(record.version).toBe(5)
  })

  it('keeps the record itself when the packed form would not be exact', () => {
    const record = base({ creatorNetwork: '198.51.100.7' })
    const odd: ChannelRecord[] = [
      { ...record, version: 2 ** 14 },
      { ...record, rev: 2 ** 15 },
      { ...record, createdAtMs: record.createdAtMs + 0.5 },
      { ...record, expiresAtMs: record.createdAtMs + 2 ** 31 },
      { ...record, updatedAtMs: Number.MAX_SAFE_INTEGER },
      { ...record, api: 'other' as ChannelRecord['api'] },
      { creatorNetwork: '198.51.100.7', ...base() },
      JSON.parse(`{"__proto__":1,${JSON.stringify(record).slice(1)}`) as ChannelRecord,
    ]
    for (const r of odd) {
      expect(packChannel(r.id, r)).toBe(r)
      expect(unpackChannel(r.id, r)).toBe(r)
    }
    // A record stored under another id than its own.
    expect(packChannel('other-id', record)).toBe(record)
  })

  it('keeps optional fields in their order, explicit undefined included', () => {
    const record: ChannelRecord = { ...base(), creatorAsn: 1, creatorNetwork: '192.0.2.1', joinerNetwork: undefined }
    roundTrip(record)
  })

  it('reads IPv4 network keys in canonical form only', () => {
    for (const text of ['0.0.0.0', '255.255.255.255', '198.51.100.7', '10.0.0.1', '128.0.0.0']) {
      const value = ipv4Of(text)
      expect(value).toBeTypeOf('number')
      expect(textOfIpv4(value as number)).toBe(text)
    }
    for (const text of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '01.2.3.4',
      '1.2.3.256',
      '1..2.3',
      '.1.2.3',
      '1.2.3.4.',
      '1.2.3.a',
      '::1',
      '2001:db8::/64',
      '1.2.3.4/32',
      '1.2.3.0004',
      ' 1.2.3.4',
    ])
      expect(ipv4Of(text)).toBeUndefined()
  })

  it('reads IPv6 /64 network keys as rateKeyOf writes them', () => {
    for (const address of [
      '2a01:cb00:8000:4100:1:2:3:4',
      '2001:db8::1',
      '2001:0:0:1::5',
      '2001:db8:0:ffff::',
      'fe80::1',
      '2001:db8:1:0:5::',
      'ffff:ffff:ffff:ffff::',
    ] as const) {
      const parsed = parseAddress(address)
      if (parsed === null) throw new Error(address)
      const key = rateKeyOf(parsed)
      const words = ipv6PrefixOf(key)
      expect(words, key).toBeDefined()
      expect(textOfIpv6Prefix(...(words as [number, number]))).toBe(key)
      roundTrip(base({ creatorNetwork: key }))
      roundTrip(base({ creatorNetwork: key, creatorAsn: 3320 }))
    }
    for (const text of [
      '::/64',
      '2001:db8::/48',
      '2001:0db8::/64',
      '2001:DB8::/64',
      '2001:db8:0::/64',
      '2001::1:0:0:0:0/64',
      '1:2:3:4:5::/64',
      '2001:db8::1::/64',
      '12345::/64',
      'g::/64',
    ])
      expect(ipv6PrefixOf(text), text).toBeUndefined()
  })
})

describe('packedWrite', () => {
  const clock = fakeClock()
  const network = fc.constantFrom(undefined, '198.51.100.7', '2001:db8:1:2::/64', '01.2.3.4', 'not-an-address')
  const record = fc
    .record({
      api: fc.constantFrom('msc4108' as const, 'msc4388' as const, 'native' as const),
      data: fc.string({ maxLength: 20 }),
      ttlMs: fc.constantFrom(1, 120_000, 2 ** 30 - 1, 2 ** 30),
      secret: fc.boolean(),
      network,
      asn: fc.option(fc.integer({ min: 0, max: 70_000 }), { nil: undefined }),
      claim: fc.option(network, { nil: null }),
      version: fc.constantFrom(0, 1, 2 ** 14 - 2, 2 ** 14 - 1),
      rev: fc.constantFrom(0, 3, 2 ** 15 - 2, 2 ** 15 - 1),
    })
    .map((r): ChannelRecord => {
      const created = createChannel({
        id: 'abcDEF123_-abcDEF123_-',
        api: r.api,
        data: r.data,
        now: clock.now(),
        ttlMs: r.ttlMs,
        ...(r.secret ? { creatorSecretHash: 'c'.repeat(43) } : {}),
        ...(r.network === undefined ? {} : { creatorNetwork: r.network }),
        ...(r.asn === undefined ? {} : { creatorAsn: r.asn }),
      })
      const claimed = r.claim === null ? created : { ...created, joinerSecretHash: 'j'.repeat(43), joinerNetwork: r.claim }
      return { ...claimed, version: r.version, rev: r.rev }
    })
  const write = fc.record({
    data: fc.string({ maxLength: 20 }),
    token: fc.string({ maxLength: 22 }),
    afterMs: fc.constantFrom(0, 1, 5000, 2 ** 30, 2 ** 53),
  })

  it('is what packChannel makes of the written record, or undefined exactly when that is not packed', () => {
    fc.assert(
      fc.property(record, write, (r, w) => {
        const stored = packChannel(r.id, r)
        if (!(stored instanceof PackedChannel)) return
        const updatedAtMs = r.createdAtMs + w.afterMs
        const next: ChannelRecord = { ...r, data: w.data, version: r.version + 1, token: w.token, rev: r.rev + 1, updatedAtMs }
        const packed = packedWrite(stored, w.data, w.token, updatedAtMs)
        const expected = packChannel(r.id, next)
        if (!(expected instanceof PackedChannel)) return void expect(packed).toBeUndefined()
        expect(packed).toStrictEqual(expected)
        expect(unpackChannel(r.id, packed as PackedChannel)).toStrictEqual(next)
        expect(Object.keys(unpackChannel(r.id, packed as PackedChannel))).toEqual(Object.keys(next))
      }),
      { numRuns: 500 },
    )
  })

  it('reads the API and version as the record has them', () => {
    fc.assert(
      fc.property(record, (r) => {
        const stored = packChannel(r.id, r)
        expect([stored.api, stored.version, stored.rev, stored.data, stored.token, stored.expiresAtMs]).toEqual([
          r.api,
          r.version,
          r.rev,
          r.data,
          r.token,
          r.expiresAtMs,
        ])
      }),
    )
  })
})
