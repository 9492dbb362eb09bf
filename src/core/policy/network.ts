/**
 * Client addresses and networks: which address a request comes from (the socket, or a trusted
 * proxy's header), and the network keys that rate limits and abuse counters are kept per.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7239 (forwarding), https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (establish proximity)
 */
import ipaddr from 'ipaddr.js'

/** A parsed IPv4 or IPv6 address. */
export type Address = ipaddr.IPv4 | ipaddr.IPv6

/** Parses an address, un-mapping `::ffff:a.b.c.d` to IPv4. Null when not an IP address. */
export const parseAddress = (text: string): Address | null => {
  const trimmed = text.trim().replace(/^\[(.*)\]$/, '$1')
  if (!ipaddr.isValid(trimmed)) return null
  return ipaddr.process(trimmed)
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
  let parsed: [Address, number]
  try {
    parsed = ipaddr.parseCIDR(value)
  } catch {
    // Safe: ipaddr throws only on text that is not a CIDR, which this function reports as null.
    return null
  }
  const [addr, bits] = parsed
  // `::ffff:10.0.0.0/104` means the IPv4 range 10.0.0.0/8: compare it against un-mapped addresses.
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96]
  }
  return [addr, bits]
}

/** True when `addr` lies in any of `ranges`. */
export const inAnyRange = (addr: Address, ranges: readonly Cidr[]): boolean =>
  ranges.some(([base, bits]) => base.kind() === addr.kind() && addr.match(base, bits))

/** The network prefix of an address as `a.b.c.0/24` or `x:y::/56` text. */
export const prefixOf = (addr: Address, ipv4Bits: number, ipv6Bits: number): string => {
  const bits = addr.kind() === 'ipv4' ? ipv4Bits : ipv6Bits
  const bytes = addr.toByteArray()
  const masked = bytes.map((byte, i) => {
    const keep = Math.min(8, Math.max(0, bits - i * 8))
    return keep === 0 ? 0 : byte & (0xff << (8 - keep))
  })
  return `${ipaddr.fromByteArray(masked).toString()}/${bits}`
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
