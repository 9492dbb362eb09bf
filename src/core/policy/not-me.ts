/**
 * Which network a "not me" report may deny. The reported device's last network is denied unless it
 * is the reporter's own (the user would lock themself out, and everyone sharing their address), or a
 * network where one of the account's trusted devices (staying signed in, out of quarantine) was seen
 * recently (home, the office: the phisher cannot make the owner deny it), or unless the reported
 * device is older than the reporting one: "not me" is about a sign-in the owner never made, which is
 * newer than the owner's devices, and a thief who signed in with a stolen password is the newest
 * device of all (finding 50: reporting the owner's older phone signs it out but denies nothing). Pure.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (detect and remediate)
 */
import type { DeviceRecord } from '../accounts/records.ts'
import { networksSeenWithin } from '../accounts/recent-networks.ts'

/** A trusted device seen within this long protects its network from a report. Default 30 days. */
export const NOT_ME_TRUSTED_SEEN_MS = 30 * 24 * 60 * 60 * 1000

/** What the decision looks at. */
export interface NotMeNetworkFacts {
  /** The reported device's last network key, if known. */
  network: string | undefined
  /** The reporter's network keys (this request's, its device's last). */
  reporterNetworks: readonly (string | undefined)[]
  /** When the reported device was created (signed in). */
  reportedCreatedAtMs: number
  /** When the reporting device was created (signed in). */
  reporterCreatedAtMs: number
  /** The account's devices that stay signed in after the report. */
  remaining: readonly Pick<DeviceRecord, 'lastSeenNetwork' | 'lastSeenAtMs' | 'recentNetworks' | 'quarantineUntilMs'>[]
  now: number
  trustedSeenWithinMs?: number
}

/** The decision: deny `network`, or why not. */
export type NotMeNetworkVerdict =
  | { deny: true; network: string }
  | { deny: false; reason: 'unknown_network' | 'reported_device_older' | 'reporter_network' | 'trusted_device_network' }

/**
 * Decides.
 *
 * @example
 * notMeNetworkVerdict({ network: '203.0.113.7', reporterNetworks: ['198.51.100.2'], reportedCreatedAtMs, reporterCreatedAtMs, remaining, now })
 * // { deny: true, network: '203.0.113.7' }
 */
export const notMeNetworkVerdict = (facts: NotMeNetworkFacts): NotMeNetworkVerdict => {
  const { network, now } = facts
  if (network === undefined || network === '' || network === 'unknown') return { deny: false, reason: 'unknown_network' }
  if (facts.reportedCreatedAtMs < facts.reporterCreatedAtMs) return { deny: false, reason: 'reported_device_older' }
  if (facts.reporterNetworks.includes(network)) return { deny: false, reason: 'reporter_network' }
  const trustedThere = trustedDeviceSeenOn(facts.remaining, network, now, facts.trustedSeenWithinMs)
  return trustedThere ? { deny: false, reason: 'trusted_device_network' } : { deny: true, network }
}

/**
 * True when one of `devices` is trusted (out of quarantine) and was seen on `network` within
 * `withinMs` (default {@link NOT_ME_TRUSTED_SEEN_MS}), last or earlier (its recent networks, finding
 * 49): the account knows that network as its own.
 *
 * @example
 * trustedDeviceSeenOn(devices, '203.0.113.7', now) // false
 */
export const trustedDeviceSeenOn = (
  devices: readonly Pick<DeviceRecord, 'lastSeenNetwork' | 'lastSeenAtMs' | 'recentNetworks' | 'quarantineUntilMs'>[],
  network: string,
  now: number,
  withinMs: number = NOT_ME_TRUSTED_SEEN_MS,
): boolean => devices.some((d) => now >= d.quarantineUntilMs && networksSeenWithin(d, now, withinMs).includes(network))
