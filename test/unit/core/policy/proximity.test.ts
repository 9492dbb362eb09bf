import { describe, expect, it } from 'vitest'
import {
  DEFAULT_PROXIMITY,
  distanceKm,
  judgeProximity,
  relate,
  type GeoPoint,
  type NetworkSighting,
} from '../../../../src/core/policy/proximity.ts'

const AT = Date.UTC(2026, 0, 1)
const PARIS: GeoPoint = { latitude: 48.8566, longitude: 2.3522 }
const VERSAILLES: GeoPoint = { latitude: 48.8049, longitude: 2.1204 }
const LYON: GeoPoint = { latitude: 45.764, longitude: 4.8357 }
const LONDON: GeoPoint = { latitude: 51.5074, longitude: -0.1278 }
const TOKYO: GeoPoint = { latitude: 35.6762, longitude: 139.6503 }

const tv = (fields: Partial<NetworkSighting>, source: NetworkSighting['source'] = 'device_authorization'): NetworkSighting => ({
  source,
  atMs: AT,
  ...fields,
})
const phone = (fields: Partial<NetworkSighting>): NetworkSighting => ({ source: 'approval', atMs: AT, ...fields })

describe('distanceKm', () => {
  it('computes great-circle distances', () => {
    expect(distanceKm(PARIS, LONDON)).toBeCloseTo(344, -1)
    expect(distanceKm(PARIS, PARIS)).toBe(0)
    expect(distanceKm(PARIS, TOKYO)).toBeGreaterThan(9000)
  })
})

describe('relate', () => {
  it('finds the same address, including an IPv4-mapped IPv6 spelling', () => {
    expect(relate(tv({ ip: '203.0.113.5' }), phone({ ip: '::ffff:203.0.113.5' })).relation).toBe('same_ip')
  })

  it('finds the same IPv4 /24', () => {
    expect(relate(tv({ ip: '203.0.113.5' }), phone({ ip: '203.0.113.200' })).relation).toBe('same_prefix')
    expect(relate(tv({ ip: '203.0.113.5' }), phone({ ip: '203.0.114.5' })).relation).toBe('unknown')
  })

  it('finds the same IPv6 /56 but not across it', () => {
    expect(relate(tv({ ip: '2001:db8:aa:bb01::1' }), phone({ ip: '2001:db8:aa:bbff::9' })).relation).toBe('same_prefix')
    expect(relate(tv({ ip: '2001:db8:aa:bb01::1' }), phone({ ip: '2001:db8:aa:cc01::1' })).relation).toBe('unknown')
  })

  it('honours configured prefix lengths', () => {
    const wide = { ...DEFAULT_PROXIMITY, ipv4PrefixBits: 16, ipv6PrefixBits: 48 }
    expect(relate(tv({ ip: '203.0.113.5' }), phone({ ip: '203.0.7.1' }), wide).relation).toBe('same_prefix')
    expect(relate(tv({ ip: '2001:db8:aa:bb01::1' }), phone({ ip: '2001:db8:aa:cc01::1' }), wide).relation).toBe('same_prefix')
  })

  it('falls back to geo distance, then to the ASN', () => {
    expect(relate(tv({ ip: '203.0.113.5', asn: 3215 }), phone({ ip: '198.51.100.1', asn: 3215 })).relation).toBe('same_asn')
    expect(relate(tv({ ip: '203.0.113.5', asn: 3215, geo: PARIS }), phone({ ip: '198.51.100.1', asn: 3215, geo: TOKYO })).relation).toBe(
      'far',
    )
    expect(relate(tv({ ip: '203.0.113.5', geo: PARIS }), phone({ ip: '198.51.100.1', geo: VERSAILLES })).relation).toBe('nearby')
    expect(relate(tv({ geo: PARIS }), phone({ geo: LYON })).relation).toBe('regional')
    const far = relate(tv({ geo: PARIS }), phone({ geo: TOKYO }))
    expect(far.relation).toBe('far')
    expect(far.distanceKm).toBeGreaterThan(9000)
  })

  it('says unknown across address families without other evidence', () => {
    expect(relate(tv({ ip: '203.0.113.5' }), phone({ ip: '2001:db8::1' })).relation).toBe('unknown')
  })
})

describe('judgeProximity', () => {
  it('reports the strongest relation over all pairs', () => {
    const verdict = judgeProximity(
      [tv({ ip: '198.51.100.7', geo: PARIS }, 'channel_create'), tv({ ip: '198.51.100.7', geo: PARIS })],
      [phone({ ip: '198.51.100.9', geo: VERSAILLES })],
    )
    expect(verdict.relation).toBe('same_prefix')
    expect(verdict.inconsistent).toBe(false)
    expect(verdict.compared).toEqual({ newDevice: 2, approver: 1 })
  })

  it('reports the smallest distance when coordinates are known', () => {
    const verdict = judgeProximity([tv({ geo: LONDON }), tv({ geo: LONDON }, 'poll')], [phone({ geo: PARIS })])
    expect(verdict.relation).toBe('regional')
    expect(verdict.distanceKm).toBeCloseTo(344, -1)
  })

  it('is unknown when nothing can be compared', () => {
    const verdict = judgeProximity([tv({})], [phone({ ip: 'not-an-ip' })])
    expect(verdict).toEqual({ relation: 'unknown', inconsistent: false, disagreements: [], compared: { newDevice: 0, approver: 0 } })
  })

  it('flags the new device when its own sightings are far apart', () => {
    const verdict = judgeProximity(
      [tv({ ip: '203.0.113.5', geo: TOKYO }, 'channel_create'), tv({ ip: '198.51.100.1', geo: PARIS })],
      [phone({ ip: '198.51.100.2', geo: PARIS })],
    )
    expect(verdict.relation).toBe('same_prefix')
    expect(verdict.inconsistent).toBe(true)
    expect(verdict.disagreements).toEqual([
      { first: 'channel_create', second: 'device_authorization', relation: 'far', distanceKm: expect.any(Number) },
    ])
  })

  it('finding 75: never lets a pair without positions (unknown, an ASN alone) outrank a pair found far', () => {
    const far = tv({ ip: '203.0.113.5', asn: 7922, geo: TOKYO })
    const approver = [phone({ ip: '198.51.100.2', asn: 3215, geo: PARIS })]
    // A ticket's bare prefix on the new device's network, an address the geo database does not know, and one on the approver's ASN.
    for (const blind of [
      tv({ prefix: '203.0.113.0/24' }, 'channel_create'),
      tv({ ip: '192.0.2.77' }, 'poll'),
      tv({ ip: '192.0.2.78', asn: 3215 }, 'poll'),
    ]) {
      expect(judgeProximity([blind, far], approver).relation).toBe('far')
      expect(judgeProximity([far, blind], approver).relation).toBe('far')
    }
    // Evidence of nearness still wins over far (the new device's own disagreement then speaks).
    expect(judgeProximity([tv({ ip: '198.51.100.9', geo: PARIS }, 'poll'), far], approver).relation).toBe('same_prefix')
    // With no pair far, nothing changes: unknown stays unknown.
    expect(judgeProximity([tv({ ip: '192.0.2.77' })], approver).relation).toBe('unknown')
  })

  it('flags sightings with nothing in common, but not a device that stayed on its ASN', () => {
    const split = judgeProximity([tv({ ip: '203.0.113.5' }, 'channel_create'), tv({ ip: '2001:db8::1' })], [])
    expect(split.disagreements.map((d) => d.relation)).toEqual(['unknown'])
    const roaming = judgeProximity([tv({ ip: '203.0.113.5', asn: 64500 }, 'channel_create'), tv({ ip: '192.0.2.1', asn: 64500 })], [])
    expect(roaming.inconsistent).toBe(false)
  })
})

describe('relate with prefix-only sightings (signed channel tickets)', () => {
  const at = 0
  it('finds the same prefix when an address lies in the prefix, never the same IP', () => {
    expect(
      relate({ source: 'channel_create', atMs: at, prefix: '203.0.113.0/24' }, { source: 'approval', atMs: at, ip: '203.0.113.9' })
        .relation,
    ).toBe('same_prefix')
    expect(
      relate({ source: 'approval', atMs: at, ip: '203.0.113.0' }, { source: 'channel_create', atMs: at, prefix: '203.0.113.0/24' })
        .relation,
    ).toBe('same_prefix')
  })
  it('compares two prefixes by containment and keeps families apart', () => {
    expect(
      relate({ source: 'channel_create', atMs: at, prefix: '2001:db8:1::/56' }, { source: 'poll', atMs: at, prefix: '2001:db8:1::/48' })
        .relation,
    ).toBe('same_prefix')
    expect(
      relate({ source: 'channel_create', atMs: at, prefix: '203.0.113.0/24' }, { source: 'approval', atMs: at, ip: '198.51.100.7' })
        .relation,
    ).toBe('unknown')
    expect(
      relate({ source: 'channel_create', atMs: at, prefix: '203.0.113.0/24' }, { source: 'approval', atMs: at, ip: '2001:db8::1' })
        .relation,
    ).toBe('unknown')
  })
  it('counts a prefix-only sighting as comparable evidence', () => {
    const verdict = judgeProximity(
      [{ source: 'channel_create', atMs: at, prefix: '203.0.113.0/24' }],
      [{ source: 'approval', atMs: at, ip: '203.0.113.77' }],
    )
    expect(verdict).toMatchObject({ relation: 'same_prefix', compared: { newDevice: 1, approver: 1 } })
  })
})
