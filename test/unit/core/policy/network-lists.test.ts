import { describe, expect, it } from 'vitest'
import {
  DEFAULT_NETWORK_LISTS,
  compileNetworkLists,
  judgeNetworkLists,
  standingOf,
  type NetworkLists,
} from '../../../../src/core/policy/network-lists.ts'
import type { NetworkSighting } from '../../../../src/core/policy/proximity.ts'

const lists = (trusted: string[], denied: string[]): NetworkLists => {
  const r = compileNetworkLists({ trusted, denied })
  if (!r.ok) throw new Error(r.detail)
  return r.value
}
const seen = (ip: string | undefined, source: NetworkSighting['source'] = 'poll'): NetworkSighting =>
  ip === undefined ? { source, atMs: 0 } : { source, atMs: 0, ip }

describe('compileNetworkLists', () => {
  it('names every malformed entry', () => {
    const r = compileNetworkLists({ trusted: ['10.0.0.0/8', 'nope'], denied: ['192.0.2.0/33'] })
    expect(r).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    if (!r.ok) expect(r.detail).toContain('nope, 192.0.2.0/33')
  })

  it('accepts the empty defaults', () => {
    expect(compileNetworkLists(DEFAULT_NETWORK_LISTS)).toEqual({ ok: true, value: { trusted: [], denied: [] } })
  })
})

describe('standingOf', () => {
  const l = lists(['10.0.0.0/8', '2001:db8:100::/48'], ['10.66.0.0/16', '192.0.2.0/24'])

  it('classifies IPv4, IPv4-mapped and IPv6 addresses', () => {
    expect(standingOf(l, '10.1.2.3')).toBe('trusted')
    expect(standingOf(l, '::ffff:10.1.2.3')).toBe('trusted')
    expect(standingOf(l, '2001:db8:100:5::1')).toBe('trusted')
    expect(standingOf(l, '192.0.2.9')).toBe('denied')
    expect(standingOf(l, '198.51.100.1')).toBe('neutral')
  })

  it('lets the deny list win over the allow list', () => {
    expect(standingOf(l, '10.66.1.1')).toBe('denied')
  })

  it('treats an unknown address as neutral', () => {
    expect(standingOf(l, undefined)).toBe('neutral')
    expect(standingOf(l, 'garbage')).toBe('neutral')
  })
})

describe('judgeNetworkLists', () => {
  const l = lists(['10.0.0.0/8'], ['192.0.2.0/24'])

  it('denies when any sighting of either device is denied', () => {
    expect(judgeNetworkLists(l, [seen('10.0.0.1'), seen('192.0.2.1')], [seen('10.0.0.2')]).denied).toBe(true)
    expect(judgeNetworkLists(l, [seen('10.0.0.1')], [seen('192.0.2.1', 'approval')]).denied).toBe(true)
  })

  it('trusts only when every sighting of both devices is trusted', () => {
    expect(judgeNetworkLists(l, [seen('10.0.0.1'), seen('10.9.0.1')], [seen('10.0.0.2', 'approval')])).toEqual({
      denied: false,
      trusted: true,
    })
    expect(judgeNetworkLists(l, [seen('10.0.0.1'), seen('198.51.100.1')], [seen('10.0.0.2')]).trusted).toBe(false)
    expect(judgeNetworkLists(l, [seen('10.0.0.1'), seen(undefined)], [seen('10.0.0.2')]).trusted).toBe(false)
    expect(judgeNetworkLists(l, [seen('10.0.0.1')], []).trusted).toBe(false)
  })
})

describe('judgeNetworkLists with prefix-only sightings (signed channel tickets)', () => {
  const l = lists(['10.0.0.0/8', '198.51.100.0/25'], ['192.0.2.0/24'])
  const ticket = (prefix: string): NetworkSighting => ({ source: 'channel_create', atMs: 0, prefix })

  it('finding 76: judges a prefix by the range that holds all of it', () => {
    expect(judgeNetworkLists(l, [ticket('10.1.2.0/24'), seen('10.1.2.3')], [seen('10.0.0.2', 'approval')])).toEqual({
      denied: false,
      trusted: true,
    })
    // A /24 only half inside the trusted /25 is not trusted; a prefix inside a denied range is denied.
    expect(judgeNetworkLists(l, [ticket('198.51.100.0/24'), seen('198.51.100.9')], [seen('10.0.0.2', 'approval')]).trusted).toBe(false)
    expect(judgeNetworkLists(l, [ticket('192.0.2.0/24'), seen('10.1.2.3')], [seen('10.0.0.2', 'approval')]).denied).toBe(true)
    expect(judgeNetworkLists(l, [ticket('not-a-prefix'), seen('10.1.2.3')], [seen('10.0.0.2', 'approval')]).trusted).toBe(false)
  })
})
