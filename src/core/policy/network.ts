/**
 * Client addresses and networks: which address a request comes from (the socket, or a trusted
 * proxy's header), and the network keys that rate limits and abuse counters are kept per.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7239 (forwarding), https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (establish proximity)
 */
import { type IpAddress, inPrefix, isIPv4Mapped, maskTo, unmapIPv4 } from './ip-address.ts'
import { parseIp } from './ip-text.ts'

export { isLoopback } from './ip-address.ts'

/** A parsed IPv4 or IPv6 address. */
export type Address = IpAddress

/** Parses an address, un-mapping `::ffff:a.b.c.d` to IPv4. Null when not an IP address. */
export const parseAddress = (text: string): Address | null => {
  const parsed = parseIp(text.trim().replace(/^\[(.*)\]$/, '$1'))
  return parsed === null ? null : unmapIPv4(parsed)
}

/** A parsed CIDR range. */
export type Cidr = [Address, number]

/** Parses `a.b.c.d/n` or `x::/n` (a bare address is a /32 or /128). Null when malformed. */
export const parseCidr = (text: string): Cidr | null => {
  const value = text.trim()
  if (!value.includes('/')) {
    const addr = parseAddress(value)
    return addr === null ? null : [addr, addr.kind() === 'ipv4' ? 32 : 128]
  }
  const match = /^(.+)\/(\d+)$/.exec(value)
  const addr = match === null ? null : parseIp(match[1] as string)
  if (match === null || addr === null) return null
  const bits = Number.parseInt(match[2] as string, 10)
  if (bits > (addr.kind() === 'ipv4' ? 32 : 128)) return null
  // `::ffff:10.0.0.0/104` means the IPv4 range 10.0.0.0/8: compare it against un-mapped addresses.
  return isIPv4Mapped(addr) && bits >= 96 ? [unmapIPv4(addr), bits - 96] : [addr, bits]
}

/** True when `addr` lies in any of `ranges`. */
export const inAnyRange = (addr: Address, ranges: readonly Cidr[]): boolean => ranges.some(([base, bits]) => inPrefix(addr, base, bits))

/** The network prefix of an address as `a.b.c.0/24` or `x:y::/56` text. */
export const prefixOf = (addr: Address, ipv4Bits: number, ipv6Bits: number): string => {
  const bits = addr.kind() === 'ipv4' ? ipv4Bits : ipv6Bits
  return `${maskTo(addr, bits).toString()}/${bits}`
}

/**
 * The key per-client limits are counted under: the whole address for IPv4, the /64 for IPv6 (one
 * subscriber usually holds a whole /64, so counting per address would be trivially evaded).
 */
export const rateKeyOf = (addr: Address): string => (addr.kind() === 'ipv4' ? addr.toString() : prefixOf(addr, 32, 64))

/** How the client address is found. */
export interface ClientAddressRule {
  /** Lower-case header a trusted proxy sets (`x-forwarded-for`, `x-real-ip`, `forwarded`…), or none. */
  header: string | undefined
  /** Peers whose header is believed. With a header set and this empty, no peer is believed. */
  trustedProxies: readonly Cidr[]
}

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy and `header` is
 * configured, in which case the right-most address in the header that is not itself a trusted proxy.
 * Returns null only when nothing parses (callers then count under a shared "unknown" key).
 */
export const clientAddress = (
  socketAddress: string | undefined,
  headerValue: string | undefined,
  rule: ClientAddressRule,
): Address | null => {
  const peer = socketAddress === undefined ? null : parseAddress(socketAddress)
  if (rule.header === undefined || headerValue === undefined || peer === null) return peer
  if (!inAnyRange(peer, rule.trustedProxies)) return peer
  const hops = forwardedHops(rule.header, headerValue)
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseAddress(hops[i] as string)
    if (hop === null) return peer
    if (!inAnyRange(hop, rule.trustedProxies)) return hop
  }
  return peer
}

/** Splits a forwarding header into its hop addresses, client first. */
const forwardedHops = (header: string, value: string): string[] => {
  if (header !== 'forwarded') return value.split(',').map((hop) => hop.trim())
  const hops: string[] = []
  for (const element of value.split(',')) {
    for (const pair of element.split(';')) {
      const [name, raw] = pair.split('=', 2)
      if (name?.trim().toLowerCase() !== 'for' || raw === undefined) continue
      const unquoted = raw.trim().replace(/^"(.*)"$/, '$1')
      // `for="[2001:db8::1]:4711"` or `for=192.0.2.60:8080`
      hops.push(hostOf(unquoted))
    }
  }
  return hops
}

/** The host of a `Forwarded` node: `[v6]:port`, `v4:port`, or a bare address. */
const hostOf = (node: string): string => {
  if (node.startsWith('[')) return node.slice(1, node.indexOf(']'))
  const parts = node.split(':')
  return parts.length === 2 ? (parts[0] as string) : node
}
