/**
 * A device's short history of the networks it was seen on (`DeviceRecord.recentNetworks`): one entry
 * per network with its most recent sighting, most recent first, at most {@link RECENT_NETWORKS_MAX}
 * entries, none older than {@link RECENT_NETWORKS_WINDOW_MS} before the newest. `devices.touch` keeps
 * it in the write that moves the last sighting (every store calls {@link touchedNetworks}; the Redis
 * script mirrors it), and "not me" reads it: a trusted device protects every network it was seen on
 * within the window, not only its last one (finding 49). It never leaves the server. Pure.
 *
 * @see ../policy/not-me.ts
 */
import type { DeviceRecord, NetworkSighting } from './records.ts'

/** Most networks kept per device. */
export const RECENT_NETWORKS_MAX = 8

/** How long a sighting is kept after the device's newest one; at least `NOT_ME_TRUSTED_SEEN_MS` (30 days). */
export const RECENT_NETWORKS_WINDOW_MS = 30 * 24 * 60 * 60 * 1000

/**
 * Adds `sighting` to `history` (most recent first): refreshes the network's entry when the sighting is
 * newer, inserts it before entries no newer than it, then drops entries older than the window before
 * the newest and the oldest beyond the maximum. Concurrent sightings of distinct times give one result
 * in any order. Returns a new list.
 *
 * @example
 * rememberNetwork([{ network: 'b', atMs: 5 }], { network: 'a', atMs: 9 }) // [{ network: 'a', atMs: 9 }, { network: 'b', atMs: 5 }]
 */
export const rememberNetwork = (history: readonly NetworkSighting[], sighting: NetworkSighting): NetworkSighting[] => {
  const copy = history.map(({ network, atMs }) => ({ network, atMs }))
  const known = copy.find((e) => e.network === sighting.network)
  let merged = copy
  if (sighting.network !== '' && (known === undefined || known.atMs < sighting.atMs)) {
    merged = copy.filter((e) => e.network !== sighting.network)
    const at = merged.findIndex((e) => e.atMs <= sighting.atMs)
    merged.splice(at === -1 ? merged.length : at, 0, { network: sighting.network, atMs: sighting.atMs })
  }
  const newest = merged[0]?.atMs ?? 0
  return merged.filter((e) => newest - e.atMs <= RECENT_NETWORKS_WINDOW_MS).slice(0, RECENT_NETWORKS_MAX)
}

/**
 * The history after `devices.touch(seen)`: the stored history, with the device's last sighting folded
 * in (records made before the history, and a last network never touched since the device was made),
 * then `seen` when it names a network. The stores keep the result whether or not `seen` is newer than
 * the last sighting (which moves forward only); an empty result is stored as absent. A sighting at the
 * very instant of the last one changes nothing, as it changes nothing of the last-seen fields: a
 * request answered 4xx changes no state (under a clock that has not moved, the tests' own).
 *
 * @example
 * touchedNetworks({ lastSeenNetwork: 'office', lastSeenAtMs: 1 }, { atMs: 2, network: 'home' })
 * // [{ network: 'home', atMs: 2 }, { network: 'office', atMs: 1 }]
 */
export const touchedNetworks = (
  device: Pick<DeviceRecord, 'recentNetworks' | 'lastSeenNetwork' | 'lastSeenAtMs'>,
  seen: { atMs: number; network?: string | undefined },
): NetworkSighting[] => {
  let history = device.recentNetworks ?? []
  if (seen.atMs === device.lastSeenAtMs) return history
  if (device.lastSeenNetwork !== undefined)
    history = rememberNetwork(history, { network: device.lastSeenNetwork, atMs: device.lastSeenAtMs })
  if (seen.network !== undefined) history = rememberNetwork(history, { network: seen.network, atMs: seen.atMs })
  return history
}

/**
 * The networks `device` was seen on within `withinMs` before `now`: its last one (if seen within),
 * then its history's. A history holds {@link RECENT_NETWORKS_WINDOW_MS} at most.
 *
 * @example
 * networksSeenWithin(laptop, now, 30 * 86_400_000) // ['198.51.100.20', '192.0.2.80']
 */
export const networksSeenWithin = (
  device: Pick<DeviceRecord, 'recentNetworks' | 'lastSeenNetwork' | 'lastSeenAtMs'>,
  now: number,
  withinMs: number,
): string[] => {
  const last = device.lastSeenNetwork !== undefined && now - device.lastSeenAtMs <= withinMs ? [device.lastSeenNetwork] : []
  const recent = (device.recentNetworks ?? []).filter((e) => now - e.atMs <= withinMs).map((e) => e.network)
  return [...new Set([...last, ...recent])]
}
