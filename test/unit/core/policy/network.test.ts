import { describe, expect, it } from 'vitest'
import { clientAddress, inAnyRange, parseAddress, parseCidr, prefixOf, rateKeyOf, type Cidr } from '../../../../src/core/policy/network.ts'

const cidrs = (...list: string[]): Cidr[] => list.map((c) => parseCidr(c) as Cidr)

describe('parseAddress', () => {
  it('un-maps IPv4-mapped IPv6 and strips brackets', () => {
    expect(parseAddress('::ffff:192.0.2.1')?.toString()).toBe('192.0.2.1')
    expect(parseAddress('[2001:db8::1]')?.toString()).toBe('2001:db8::1')
  })
  it('returns null for non-addresses', () => {
    expect(parseAddress('example.com')).toBeNull()
    expect(parseAddress('')).toBeNull()
  })
})

describe('parseCidr', () => {
  it('parses ranges and bare addresses', () => {
    expect(parseCidr('10.0.0.0/8')?.[1]).toBe(8)
    expect(parseCidr('2001:db8::1')?.[1]).toBe(128)
    expect(parseCidr('::ffff:10.0.0.0/104')?.[0].kind()).toBe('ipv4')
  })
  it('refuses garbage', () => {
    expect(parseCidr('10.0.0.0/33')).toBeNull()
    expect(parseCidr('nope')).toBeNull()
  })
})

describe('prefixOf / rateKeyOf', () => {
  it('masks to the configured prefix', () => {
    expect(prefixOf(parseAddress('203.0.113.77')!, 24, 56)).toBe('203.0.113.0/24')
    expect(prefixOf(parseAddress('2001:db8:aa:bbcc:1::1')!, 24, 56)).toBe('2001:db8:aa:bb00::/56')
  })
  it('counts IPv4 per address and IPv6 per /64', () => {
    expect(rateKeyOf(parseAddress('198.51.100.3')!)).toBe('198.51.100.3')
    expect(rateKeyOf(parseAddress('2001:db8:1:2:aaaa::1')!)).toBe('2001:db8:1:2::/64')
    expect(rateKeyOf(parseAddress('2001:db8:1:2:ffff::9')!)).toBe(rateKeyOf(parseAddress('2001:db8:1:2::1')!))
  })
})

describe('clientAddress', () => {
  const rule = { header: 'x-forwarded-for', trustedProxies: cidrs('127.0.0.1/8', '10.0.0.0/8') }

  it('uses the socket when no header is configured', () => {
    expect(clientAddress('198.51.100.1', '203.0.113.9', { header: undefined, trustedProxies: [] })?.toString()).toBe('198.51.100.1')
  })

  it('ignores the header when the peer is not a trusted proxy', () => {
    expect(clientAddress('198.51.100.1', '203.0.113.9', rule)?.toString()).toBe('198.51.100.1')
  })

  it('takes the right-most untrusted hop from a trusted proxy', () => {
    expect(clientAddress('127.0.0.1', '6.6.6.6, 203.0.113.9, 10.1.2.3', rule)?.toString()).toBe('203.0.113.9')
  })

  it('falls back to the peer when the header holds garbage', () => {
    expect(clientAddress('127.0.0.1', 'not-an-ip', rule)?.toString()).toBe('127.0.0.1')
  })

  it('reads the for= nodes of a Forwarded header', () => {
    const forwarded = { header: 'forwarded', trustedProxies: cidrs('127.0.0.1') }
    expect(clientAddress('127.0.0.1', 'for=192.0.2.60;proto=http;by=203.0.113.43', forwarded)?.toString()).toBe('192.0.2.60')
    expect(clientAddress('127.0.0.1', 'for="[2001:db8:cafe::17]:4711"', forwarded)?.toString()).toBe('2001:db8:cafe::17')
  })

  it('returns null without any parsable address', () => {
    expect(clientAddress(undefined, undefined, rule)).toBeNull()
  })
})

describe('inAnyRange', () => {
  it('matches only ranges of the same family', () => {
    const ranges = cidrs('192.0.2.0/24', '2001:db8::/32')
    expect(inAnyRange(parseAddress('192.0.2.200')!, ranges)).toBe(true)
    expect(inAnyRange(parseAddress('192.0.3.1')!, ranges)).toBe(false)
    expect(inAnyRange(parseAddress('2001:db8::5')!, ranges)).toBe(true)
  })
})
