/**
 * The sources abuse is counted under: a network key (`rateKeyOf`: an IPv4 address or an IPv6 /64)
 * or an autonomous system (`asn:64500`). The abuse guard (`abuse-guard.ts`) keys its counters,
 * records and denies by them.
 *
 * @see ../core/policy/abuse.ts
 */
import { parseAddress, parseCidr, prefixOf, rateKeyOf } from '../core/policy/network.ts'

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

/**
 * The customer a network key belongs to, for its share of an ASN's counts (finding 78): an IPv4
 * address, or the IPv6 /48 of a /64 (a site gets a /48 or a /56, RFC 6177); null when not a network.
 *
 * @example
 * customerOf('2001:db8:77:1::/64') // '2001:db8:77::/48'
 */
export const customerOf = (network: string): string | null => {
  const address = parseAddress(network) ?? parseCidr(network)?.[0] ?? null
  return address === null ? null : prefixOf(address, 32, 48)
}
