/**
 * Trusted and denied networks (BCP "trusted networks"): CIDR lists an operator configures. A denied
 * address may neither create a channel nor approve; a login whose every sighting (both devices) lies
 * in trusted ranges skips the proximity step-up, e.g. inside an office network.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (trusted networks)
 */
import { fail, ok, type Result } from '../errors.ts'
import { inAnyRange, parseAddress, parseCidr, type Cidr } from './network.ts'
import type { NetworkSighting } from './proximity.ts'

/** The lists as configured (CIDR text, or bare addresses). */
export interface NetworkListsConfig {
  /** Ranges that relax proximity. Default none. */
  trusted: readonly string[]
  /** Ranges refused for channel creation and approval. Default none. Wins over `trusted`. */
  denied: readonly string[]
}

/** Defaults of {@link NetworkListsConfig}: both lists empty. */
export const DEFAULT_NETWORK_LISTS: Readonly<NetworkListsConfig> = { trusted: [], denied: [] }

/** Parsed lists, built once at startup. */
export interface NetworkLists {
  trusted: readonly Cidr[]
  denied: readonly Cidr[]
}

/** How one address stands. `denied` wins when both lists hold it. */
export type AddressStanding = 'denied' | 'trusted' | 'neutral'

/**
 * Parses both lists. Errors: INVALID_PARAM naming every entry that is not a CIDR range or address.
 *
 * @example
 * const lists = compileNetworkLists({ trusted: ['10.0.0.0/8'], denied: ['192.0.2.0/24'] })
 */
export const compileNetworkLists = (config: NetworkListsConfig): Result<NetworkLists, 'INVALID_PARAM'> => {
  const bad: string[] = []
  const parse = (list: readonly string[]): Cidr[] =>
    list.flatMap((text) => {
      const cidr = parseCidr(text)
      if (cidr === null) bad.push(text)
      return cidr === null ? [] : [cidr]
    })
  const lists = { trusted: parse(config.trusted), denied: parse(config.denied) }
  if (bad.length > 0) return fail('INVALID_PARAM', `not a CIDR range: ${bad.join(', ')}`)
  return ok(lists)
}

/**
 * Where an address stands. An unknown or unparsable address is `neutral`.
 *
 * @example
 * standingOf(lists, '192.0.2.7') // 'denied'
 */
export const standingOf = (lists: NetworkLists, ip: string | undefined): AddressStanding => {
  const addr = ip === undefined ? null : parseAddress(ip)
  if (addr === null) return 'neutral'
  if (inAnyRange(addr, lists.denied)) return 'denied'
  return inAnyRange(addr, lists.trusted) ? 'trusted' : 'neutral'
}

/** True when every address of `inner` lies in `outer`. */
const within = (inner: Cidr, outer: Cidr): boolean => inner[1] >= outer[1] && inAnyRange(inner[0], [outer])

/**
 * Where a sighting stands: by its address, or, for a sighting that knows only its prefix (a signed
 * channel ticket), by that prefix when a range holds all of it (finding 76); otherwise `neutral`.
 */
const sightingStanding = (lists: NetworkLists, s: NetworkSighting): AddressStanding => {
  if (s.ip !== undefined) return standingOf(lists, s.ip)
  const prefix = s.prefix === undefined ? null : parseCidr(s.prefix)
  if (prefix === null) return 'neutral'
  if (lists.denied.some((range) => within(prefix, range))) return 'denied'
  return lists.trusted.some((range) => within(prefix, range)) ? 'trusted' : 'neutral'
}

/** The lists' verdict on a whole login. */
export interface NetworkListsVerdict {
  /** Some sighting of either device is in a denied range. */
  denied: boolean
  /**
   * Every sighting of both devices has an address (or a prefix) and all are trusted (and there is at
   * least one on each side).
   */
  trusted: boolean
}

/**
 * Judges all sightings of the new device and of the approver against the lists.
 *
 * @example
 * const { denied, trusted } = judgeNetworkLists(lists, grant.networks, [approvalSighting])
 */
export const judgeNetworkLists = (
  lists: NetworkLists,
  newDevice: readonly NetworkSighting[],
  approver: readonly NetworkSighting[],
): NetworkListsVerdict => {
  const standings = (side: readonly NetworkSighting[]) => side.map((s) => sightingStanding(lists, s))
  const mine = standings(newDevice)
  const theirs = standings(approver)
  const all = [...mine, ...theirs]
  return {
    denied: all.includes('denied'),
    trusted: mine.length > 0 && theirs.length > 0 && all.every((s) => s === 'trusted'),
  }
}
