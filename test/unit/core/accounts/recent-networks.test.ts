import { describe, expect, it } from 'vitest'
import {
  networksSeenWithin,
  RECENT_NETWORKS_MAX,
  RECENT_NETWORKS_WINDOW_MS,
  rememberNetwork,
  touchedNetworks,
} from '../../../../src/core/accounts/recent-networks.ts'
import type { NetworkSighting } from '../../../../src/core/accounts/records.ts'
import { NOT_ME_TRUSTED_SEEN_MS } from '../../../../src/core/policy/not-me.ts'

const NOW = Date.UTC(2026, 5, 1, 12)
const DAY = 86_400_000
const at = (network: string, atMs: number): NetworkSighting => ({ network, atMs })

describe('rememberNetwork', () => {
  it('adds a network before older ones, and refreshes a known one only forward', () => {
    const history = [at('home', NOW - 10), at('office', NOW - 20)]
    expect(rememberNetwork(history, at('cafe', NOW))).toEqual([at('cafe', NOW), at('home', NOW - 10), at('office', NOW - 20)])
    expect(rememberNetwork(history, at('office', NOW))).toEqual([at('office', NOW), at('home', NOW - 10)])
    expect(rememberNetwork(history, at('home', NOW - 30))).toEqual(history)
    expect(rememberNetwork(history, at('cafe', NOW - 15))).toEqual([at('home', NOW - 10), at('cafe', NOW - 15), at('office', NOW - 20)])
    expect(rememberNetwork([], at('home', NOW))).toEqual([at('home', NOW)])
  })

  it(`keeps the ${RECENT_NETWORKS_MAX} most recent networks`, () => {
    let history: NetworkSighting[] = []
    for (let i = 0; i < RECENT_NETWORKS_MAX + 3; i++) history = rememberNetwork(history, at(`n${i}`, NOW + i))
    expect(history).toHaveLength(RECENT_NETWORKS_MAX)
    expect(history[0]).toEqual(at(`n${RECENT_NETWORKS_MAX + 2}`, NOW + RECENT_NETWORKS_MAX + 2))
    expect(history.map((e) => e.network)).not.toContain('n2')
    // An older sighting than every kept one does not push a newer one out.
    expect(rememberNetwork(history, at('old', NOW - 1))).toEqual(history)
  })

  it('drops sightings older than the window before the newest', () => {
    const history = [at('home', NOW - 5 * DAY), at('office', NOW - 26 * DAY)]
    expect(rememberNetwork(history, at('cafe', NOW + 5 * DAY))).toEqual([at('cafe', NOW + 5 * DAY), at('home', NOW - 5 * DAY)])
    expect(rememberNetwork([at('home', NOW)], at('old', NOW - RECENT_NETWORKS_WINDOW_MS - 1))).toEqual([at('home', NOW)])
    expect(rememberNetwork([at('home', NOW)], at('edge', NOW - RECENT_NETWORKS_WINDOW_MS))).toHaveLength(2)
  })

  it('gives one history for sightings of distinct times in any order', () => {
    const sightings = Array.from({ length: 12 }, (_, i) => at(`n${i % 5}`, NOW + ((i * 7) % 12) * DAY * 3))
    const forward = sightings.reduce<NetworkSighting[]>(rememberNetwork, [])
    const backward = [...sightings].reverse().reduce<NetworkSighting[]>(rememberNetwork, [])
    expect(backward).toEqual(forward)
  })

  it('ignores an empty network and never changes its input', () => {
    const history = [at('home', NOW)]
    expect(rememberNetwork(history, at('', NOW + 1))).toEqual(history)
    rememberNetwork(history, at('office', NOW + 1))
    expect(history).toEqual([at('home', NOW)])
  })

  it('keeps at least as long as "not me" looks back', () => {
    expect(RECENT_NETWORKS_WINDOW_MS).toBeGreaterThanOrEqual(NOT_ME_TRUSTED_SEEN_MS)
  })
})

describe('touchedNetworks', () => {
  it('folds in the last sighting, then the new one', () => {
    expect(touchedNetworks({ lastSeenNetwork: 'office', lastSeenAtMs: NOW }, { atMs: NOW + 1, network: 'home' })).toEqual([
      at('home', NOW + 1),
      at('office', NOW),
    ])
    expect(touchedNetworks({ lastSeenAtMs: NOW }, { atMs: NOW + 1 })).toEqual([])
    expect(touchedNetworks({ lastSeenNetwork: 'office', lastSeenAtMs: NOW }, { atMs: NOW + 1 })).toEqual([at('office', NOW)])
  })

  it('keeps an older sighting in the history (the last one moves forward only)', () => {
    const device = { lastSeenNetwork: 'home', lastSeenAtMs: NOW, recentNetworks: [at('home', NOW)] }
    expect(touchedNetworks(device, { atMs: NOW - 10, network: 'office' })).toEqual([at('home', NOW), at('office', NOW - 10)])
  })
})

describe('networksSeenWithin', () => {
  it('lists the last network and the recent ones seen within the span, once each', () => {
    const device = {
      lastSeenNetwork: 'home',
      lastSeenAtMs: NOW,
      recentNetworks: [at('home', NOW), at('office', NOW - 2 * DAY), at('cafe', NOW - 20 * DAY)],
    }
    expect(networksSeenWithin(device, NOW, 30 * DAY)).toEqual(['home', 'office', 'cafe'])
    expect(networksSeenWithin(device, NOW, 10 * DAY)).toEqual(['home', 'office'])
    expect(networksSeenWithin({ ...device, lastSeenAtMs: NOW - 40 * DAY, recentNetworks: [] }, NOW, 30 * DAY)).toEqual([])
    expect(networksSeenWithin({ lastSeenAtMs: NOW }, NOW, 30 * DAY)).toEqual([])
  })
})
