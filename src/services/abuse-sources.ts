/**
 * The sources abuse is counted under: a network key (`rateKeyOf`: an IPv4 address or an IPv6 /64)
 * or an autonomous system (`asn:64500`). The abuse guard (`abuse-guard.ts`) keys its counters,
 * records and denies by them.
 *
 * @see ../core/policy/abuse.ts
 */
import { parseAddress, rateKeyOf } from '../core/policy/network.ts'

/** Prefix of an ASN source (`asn:64500`): counted with the ASN thresholds. */
export const ASN_SOURCE = 'asn:'

/**
 * The sources one client counts under: its network key and, when known, its ASN.
 *
 * @example
 * sourcesOf('203.0.113.7', 64500) // ['203.0.113.7', 'asn:64500']
 */
export const sourcesOf = (network: string | undefined, asn: number | undefined): string[] => [
  ...(network === undefined ? [] : [network]),
  ...(asn === undefined ? [] : [`${ASN_SOURCE}${asn}`]),
]

/** The network key of an address, or the text itself when it already is one (e.g. `2001:db8::/64`). */
export const sourceKeyOf = (source: string): string => {
  if (source.startsWith(ASN_SOURCE)) return source
  const address = parseAddress(source)
  return address === null ? source : rateKeyOf(address)
}
