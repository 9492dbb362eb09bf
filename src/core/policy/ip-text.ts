/**
 * Reads IPv4 and IPv6 address text into {@link IpAddress}, accepting exactly what ipaddr.js 2.5
 * (this relay's earlier parser) accepted, so that configured ranges and forwarded addresses keep
 * parsing the same:
 *
 * - IPv6 (RFC 4291 2.2): one to four hex digits a group, at most one `::` standing for one group or
 *   more, an optional dotted IPv4 tail, an optional `%zone` of letters and digits (RFC 4007 11.2).
 *   `::a.b.c.d` (the deprecated IPv4-compatible form) is read as `::ffff:a.b.c.d`, as ipaddr.js does.
 *   The numbers of a dotted tail are read as JavaScript `parseInt` reads them (`0x` hex, else decimal).
 * - IPv4: the inet_aton forms ipaddr.js accepts, not only `a.b.c.d`: one to four parts, each decimal,
 *   `0x` hex or `0`-led octal, the last part filling the remaining bytes (`127.1`, `0x7f000001`,
 *   `0177.0.0.1`). Kept rather than refused because refusing would change which configured ranges
 *   and trusted-proxy headers parse; socket addresses are always in the plain form anyway.
 *
 * @see https://www.rfc-editor.org/rfc/rfc4291#section-2.2, https://www.rfc-editor.org/rfc/rfc6943#section-3.1.1 (inet_aton forms)
 */
import { IpAddress } from './ip-address.ts'

const V4_PART = '(0?\\d+|0x[0-9a-f]+)'
const V4_LOOSE = new RegExp(`^${V4_PART}(?:\\.${V4_PART})?(?:\\.${V4_PART})?(?:\\.${V4_PART})?$`, 'i')
const V4_DOTTED = new RegExp(`^${V4_PART}\\.${V4_PART}\\.${V4_PART}\\.${V4_PART}$`, 'i')
const HEX_GROUP = /^[0-9a-f]{1,4}$/i
const ZONE = /^[0-9a-z]+$/i

/** An IPv4 or IPv6 address (IPv4-mapped ones stay IPv6). Null when the text is not one. */
export const parseIp = (text: string): IpAddress | null => (text.includes(':') ? parseIPv6(text) : parseIPv4(text))

/** An IPv4 address in any of the forms in the file comment. Null otherwise. */
export const parseIPv4 = (text: string): IpAddress | null => {
  const match = V4_LOOSE.exec(text)
  if (match === null) return null
  const parts = match.slice(1).filter((p): p is string => p !== undefined)
  const values = parts.map(legacyNumber)
  const last = values.length - 1
  const bytes: number[] = []
  for (let i = 0; i < last; i++) {
    const value = values[i] as number
    if (Number.isNaN(value) || value > 0xff) return null
    bytes.push(value)
  }
  let tail = values[last] as number
  const tailBytes = 4 - last
  if (Number.isNaN(tail) || tail >= 2 ** (8 * tailBytes)) return null
  const tailOut: number[] = []
  for (let i = 0; i < tailBytes; i++) {
    tailOut.unshift(tail % 256)
    tail = Math.floor(tail / 256)
  }
  return new IpAddress([...bytes, ...tailOut])
}

/** `0x` hex, `0`-led octal (NaN when it has an 8 or 9), else decimal. */
const legacyNumber = (part: string): number => {
  if (/^0x/i.test(part)) return Number.parseInt(part, 16)
  if (part.length > 1 && part[0] === '0') return /^0[0-7]+$/.test(part) ? Number.parseInt(part, 8) : Number.NaN
  return Number.parseInt(part, 10)
}

/** An IPv6 address as in the file comment. Null otherwise. */
export const parseIPv6 = (text: string): IpAddress | null => {
  const percent = text.indexOf('%')
  const head = percent < 0 ? text : text.slice(0, percent)
  const zone = percent < 0 ? undefined : text.slice(percent + 1)
  if (zone !== undefined && !ZONE.test(zone)) return null
  if (!head.includes('.')) {
    const groups = expandGroups(head, 8)
    return groups === null ? null : new IpAddress(toBytes(groups), zone)
  }
  const colon = head.lastIndexOf(':')
  const hex = head.slice(0, colon + 1)
  const dotted = V4_DOTTED.exec(head.slice(colon + 1))
  if (dotted === null || hex === '') return null
  // `::a.b.c.d` is read as `::ffff:a.b.c.d`.
  const front = hex === '::' ? [0, 0, 0, 0, 0, 0xffff] : expandGroups(hex.endsWith('::') ? hex : hex.slice(0, -1), 6)
  if (front === null) return null
  const octets = dotted.slice(1, 5).map((p) => Number.parseInt(p as string, /^0x/i.test(p as string) ? 16 : 10))
  if (octets.some((o) => !(o >= 0 && o <= 0xff))) return null
  return new IpAddress([...toBytes(front), ...octets], zone)
}

/** Hex groups with at most one `::` (standing for at least one zero group) to exactly `count` numbers. */
const expandGroups = (text: string, count: number): number[] | null => {
  const halves = text.split('::')
  if (halves.length > 2) return null
  const sides = halves.map((half) => (half === '' ? [] : half.split(':')))
  if (sides.some((side) => side.some((g) => !HEX_GROUP.test(g)))) return null
  const [left = [], right] = sides.map((side) => side.map((g) => Number.parseInt(g, 16)))
  if (right === undefined) return left.length === count ? left : null
  const missing = count - left.length - right.length
  return missing < 1 ? null : [...left, ...new Array<number>(missing).fill(0), ...right]
}

const toBytes = (groups: readonly number[]): number[] => groups.flatMap((g) => [g >> 8, g & 0xff])
