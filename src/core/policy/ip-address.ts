/**
 * An IPv4 or IPv6 address as bytes in network order, with its canonical text: dotted decimal for
 * IPv4, the RFC 5952 compressed form for IPv6 (lower-case hex, the longest run of two or more zero
 * groups written `::`, the leftmost on a tie, no dotted tail), plus `%zone` when one was given.
 *
 * @see https://www.rfc-editor.org/rfc/rfc4291#section-2.2 (IPv6 text), https://www.rfc-editor.org/rfc/rfc5952#section-4 (canonical text),
 *   https://www.rfc-editor.org/rfc/rfc4291#section-2.5.5.2 (IPv4-mapped), https://www.rfc-editor.org/rfc/rfc4632#section-3.1 (prefixes)
 */

/** The address family. */
export type IpKind = 'ipv4' | 'ipv6'

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address; `zone` is an IPv6 zone id (`fe80::1%eth0`). */
export class IpAddress {
  constructor(
    /** The address in network order (most significant byte first). */
    readonly bytes: readonly number[],
    /** The IPv6 zone id without `%`, kept for the text only (matching and prefixes ignore it). */
    readonly zone?: string,
  ) {}

  /** `ipv4` or `ipv6`. */
  kind(): IpKind {
    return this.bytes.length === 4 ? 'ipv4' : 'ipv6'
  }

  /** The canonical text (see the file comment). */
  toString(): string {
    if (this.bytes.length === 4) return this.bytes.join('.')
    const groups: string[] = []
    for (let i = 0; i < 16; i += 2) groups.push((((this.bytes[i] as number) << 8) | (this.bytes[i + 1] as number)).toString(16))
    const text = compressZeros(groups)
    return this.zone === undefined ? text : `${text}%${this.zone}`
  }
}

/** RFC 5952 4.2: `::` for the longest run (two or more) of zero groups, the first of equal runs. */
const compressZeros = (groups: readonly string[]): string => {
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < groups.length; ) {
    let end = i
    while (end < groups.length && groups[end] === '0') end++
    if (end - i > bestLength) [bestStart, bestLength] = [i, end - i]
    i = end === i ? i + 1 : end
  }
  if (bestStart < 0) return groups.join(':')
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`
}

/** True for `::ffff:a.b.c.d` (RFC 4291 2.5.5.2). */
export const isIPv4Mapped = (addr: IpAddress): boolean =>
  addr.bytes.length === 16 && addr.bytes.slice(0, 10).every((b) => b === 0) && addr.bytes[10] === 0xff && addr.bytes[11] === 0xff

/** The IPv4 address inside an IPv4-mapped one; any other address as it is. */
export const unmapIPv4 = (addr: IpAddress): IpAddress => (isIPv4Mapped(addr) ? new IpAddress(addr.bytes.slice(12)) : addr)

/** The address with all but its first `bits` bits cleared (and no zone). */
export const maskTo = (addr: IpAddress, bits: number): IpAddress =>
  new IpAddress(
    addr.bytes.map((byte, i) => {
      const keep = Math.min(8, Math.max(0, bits - i * 8))
      return keep === 0 ? 0 : byte & (0xff << (8 - keep))
    }),
  )

/** True when `addr` and `base` are the same family and agree in their first `bits` bits (RFC 4632). */
export const inPrefix = (addr: IpAddress, base: IpAddress, bits: number): boolean => {
  if (addr.bytes.length !== base.bytes.length) return false
  for (let i = 0; i < addr.bytes.length; i++) {
    const keep = Math.min(8, Math.max(0, bits - i * 8))
    if (keep === 0) return true
    const mask = (0xff << (8 - keep)) & 0xff
    if (((addr.bytes[i] as number) & mask) !== ((base.bytes[i] as number) & mask)) return false
  }
  return true
}

/** True for 127.0.0.0/8 and `::1` (RFC 1122 3.2.1.3, RFC 4291 2.5.3). */
export const isLoopback = (addr: IpAddress): boolean =>
  addr.bytes.length === 4 ? addr.bytes[0] === 127 : addr.bytes.every((b, i) => b === (i === 15 ? 1 : 0))
