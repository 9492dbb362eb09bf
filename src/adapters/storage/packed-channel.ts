/**
 * How the memory store holds a channel record: packed into one fixed-shape object of small integers
 * and string references when that is exact, else the record itself. A pending channel's record costs
 * about 100 bytes packed instead of about 190 (three boxed timestamps, an out-of-object property for
 * the creator's network, the id repeated). `unpackChannel` gives back a record equal to the one
 * stored, with its keys in the same order.
 *
 * Packed fields: the API, version and revision in one small integer; the creation time in two (high
 * and low 30 bits); the update and expiry times as offsets from it; the creator's network when it is
 * the first optional field (an IPv4 network key as one 32-bit integer and an IPv6 /64 as two, when
 * they read back as the same text); any other optional field in one object, in its order, held only by records that have one.
 * The id is the store's key.
 */
import type { ChannelRecord, RendezvousApi } from '../../core/rendezvous/channel.ts'

const APIS: readonly RendezvousApi[] = ['msc4108', 'msc4388', 'native']
const BASE_KEYS = ['id', 'api', 'data', 'version', 'token', 'rev', 'createdAtMs', 'updatedAtMs', 'expiresAtMs'] as const
const TWO_30 = 2 ** 30
const MAX_VERSION = 2 ** 14
const MAX_REV = 2 ** 15

/** A packed record (see the file comment); `expiresAtMs` and `rev` are worked out on demand. */
export class PackedChannel {
  constructor(
    readonly data: string,
    readonly token: string,
    /** API index | version << 2 | rev << 16. */
    readonly meta: number,
    readonly createdHi: number,
    readonly createdLo: number,
    readonly updatedOffset: number,
    readonly expiresOffset: number,
    /** The network key; a number is an IPv4 address (see {@link ipv4Of}). */
    readonly network: string | number | undefined,
  ) {}

  get createdAtMs(): number {
    return this.createdHi * TWO_30 + this.createdLo
  }

  get expiresAtMs(): number {
    return this.createdAtMs + this.expiresOffset
  }

  get rev(): number {
    return this.meta >>> 16
  }

  get version(): number {
    return (this.meta >>> 2) & (MAX_VERSION - 1)
  }

  get api(): RendezvousApi {
    return APIS[this.meta & 3] as RendezvousApi
  }
}

/** A packed record with optional fields besides the creator's network. */
class PackedChannelWithExtra extends PackedChannel {
  constructor(
    fields: ConstructorParameters<typeof PackedChannel>,
    readonly extra: Partial<ChannelRecord>,
  ) {
    super(...fields)
  }
}

/** A packed record whose creator's network is an IPv6 /64: `network` holds its high 32 bits, this the low. */
class PackedChannelIpv6 extends PackedChannel {
  constructor(
    fields: ConstructorParameters<typeof PackedChannel>,
    readonly networkLow: number,
  ) {
    super(...fields)
  }
}

/** A channel as the memory store holds it. */
export type StoredChannel = PackedChannel | ChannelRecord

/**
 * An IPv4 address in canonical dotted-decimal form (as `rateKeyOf` writes it) as a 32-bit integer, or
 * undefined for anything else (leading zeros, IPv6, …), so that {@link textOfIpv4} gives back the text.
 */
export const ipv4Of = (text: string): number | undefined => {
  let value = 0
  let octet = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46
    if (c === 46) {
      if (digits === 0 || octet > 255) return undefined
      value = value * 256 + octet
      dots++
      octet = 0
      digits = 0
    } else if (c >= 48 && c <= 57 && digits < 3 && !(digits === 1 && octet === 0)) {
      octet = octet * 10 + (c - 48)
      digits++
    } else return undefined
  }
  return dots === 4 ? value | 0 : undefined
}

/** The dotted-decimal text of an address from {@link ipv4Of}. */
export const textOfIpv4 = (value: number): string => `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`

const IPV6_64_SUFFIX = '::/64'
const HEX_GROUP = /^(?:0|[1-9a-f][0-9a-f]{0,3})$/

/**
 * An IPv6 /64 network key as `rateKeyOf` writes it (`2001:db8:1:2::/64`: lower-case groups without
 * leading zeros, the trailing zero groups compressed) as two 32-bit integers, or undefined for any
 * other text, so that {@link textOfIpv6Prefix} gives back the text.
 */
export const ipv6PrefixOf = (text: string): [number, number] | undefined => {
  if (!text.endsWith(IPV6_64_SUFFIX)) return undefined
  const groups = text.slice(0, -IPV6_64_SUFFIX.length).split(':')
  if (groups.length > 4 || !groups.every((g) => HEX_GROUP.test(g)) || groups.at(-1) === '0') return undefined
  const word = (i: number): number => Number.parseInt(groups[i] ?? '0', 16)
  return [(word(0) << 16) | word(1) | 0, (word(2) << 16) | word(3) | 0]
}

/** The text of a /64 from {@link ipv6PrefixOf}. */
export const textOfIpv6Prefix = (high: number, low: number): string => {
  const groups = [high >>> 16, high & 0xffff, low >>> 16, low & 0xffff]
  while (groups.length > 0 && groups.at(-1) === 0) groups.pop()
  return `${groups.map((g) => g.toString(16)).join(':')}${IPV6_64_SUFFIX}`
}

/** An integer offset that stays a small integer in V8. */
const isOffset = (n: number): boolean => Number.isInteger(n) && n > -TWO_30 && n < TWO_30

/** True when the base fields fit the packed form exactly. */
const packable = (id: string, record: ChannelRecord): boolean => {
  const { createdAtMs: created, version, rev } = record
  return (
    record.id === id &&
    APIS.includes(record.api) &&
    typeof record.data === 'string' &&
    typeof record.token === 'string' &&
    Number.isInteger(version) &&
    version >= 0 &&
    version < MAX_VERSION &&
    Number.isInteger(rev) &&
    rev >= 0 &&
    rev < MAX_REV &&
    Number.isSafeInteger(created) &&
    Number.isSafeInteger(record.updatedAtMs) &&
    Number.isSafeInteger(record.expiresAtMs) &&
    created >= 0 &&
    isOffset(record.updatedAtMs - created) &&
    isOffset(record.expiresAtMs - created)
  )
}

/**
 * The stored form of `record` under key `id`: packed when exact, else the record itself.
 *
 * @example
 * channels.set(record.id, packChannel(record.id, record))
 */
export const packChannel = (id: string, record: ChannelRecord): StoredChannel => {
  if (!packable(id, record)) return record
  const keys = Object.keys(record)
  for (let i = 0; i < BASE_KEYS.length; i++) if (keys[i] !== BASE_KEYS[i]) return record
  let rest = BASE_KEYS.length
  let network: string | number | undefined
  let ipv6: [number, number] | undefined
  if (keys[rest] === 'creatorNetwork' && typeof record.creatorNetwork === 'string') {
    network = ipv4Of(record.creatorNetwork)
    ipv6 = network === undefined ? ipv6PrefixOf(record.creatorNetwork) : undefined
    network ??= record.creatorNetwork
    rest++
  }
  let extra: Record<string, unknown> | undefined
  for (let i = rest; i < keys.length; i++) {
    const key = keys[i] as string
    // Object.assign would set the prototype instead of copying such a field.
    if (key === '__proto__') return record
    extra ??= {}
    extra[key] = (record as unknown as Record<string, unknown>)[key]
  }
  const created = record.createdAtMs
  const hi = Math.floor(created / TWO_30)
  const fields: ConstructorParameters<typeof PackedChannel> = [
    record.data,
    record.token,
    APIS.indexOf(record.api) | (record.version << 2) | (record.rev << 16),
    hi,
    created - hi * TWO_30,
    record.updatedAtMs - created,
    record.expiresAtMs - created,
    network,
  ]
  if (extra !== undefined) return new PackedChannelWithExtra(fields, extra as Partial<ChannelRecord>)
  if (ipv6 === undefined) return new PackedChannel(...fields)
  fields[7] = ipv6[0]
  return new PackedChannelIpv6(fields, ipv6[1])
}

/**
 * `stored` after a write (`data`, `token` and `updatedAtMs` replaced, `version` and `rev` one higher):
 * what {@link packChannel} makes of that record, without unpacking it (the optional fields, the
 * creator's network and the creation and expiry times are shared, unchanged). Undefined when the
 * written record would not pack exactly (the version or revision at its bound, the update time out of
 * range): then pack the record itself.
 *
 * @example
 * const next = packedWrite(stored, data, token, clock.now()) ?? packChannel(id, { ...record, data, … })
 */
export const packedWrite = (stored: PackedChannel, data: string, token: string, updatedAtMs: number): PackedChannel | undefined => {
  const { meta, createdHi, createdLo } = stored
  const version = ((meta >>> 2) & (MAX_VERSION - 1)) + 1
  const rev = (meta >>> 16) + 1
  const updatedOffset = updatedAtMs - (createdHi * TWO_30 + createdLo)
  if (version >= MAX_VERSION || rev >= MAX_REV || !Number.isSafeInteger(updatedAtMs) || !isOffset(updatedOffset)) return undefined
  const fields: ConstructorParameters<typeof PackedChannel> = [
    data,
    token,
    (meta & 3) | (version << 2) | (rev << 16),
    createdHi,
    createdLo,
    updatedOffset,
    stored.expiresOffset,
    stored.network,
  ]
  if (stored instanceof PackedChannelWithExtra) return new PackedChannelWithExtra(fields, stored.extra)
  if (stored instanceof PackedChannelIpv6) return new PackedChannelIpv6(fields, stored.networkLow)
  return new PackedChannel(...fields)
}

/**
 * The record stored under `id` (equal to the one given to {@link packChannel}, keys in the same order).
 *
 * @example
 * const record = unpackChannel(id, channels.get(id))
 */
export const unpackChannel = (id: string, stored: StoredChannel): ChannelRecord => {
  if (!(stored instanceof PackedChannel)) return stored
  const created = stored.createdAtMs
  const record: ChannelRecord = {
    id,
    api: APIS[stored.meta & 3] as RendezvousApi,
    data: stored.data,
    version: (stored.meta >>> 2) & (MAX_VERSION - 1),
    token: stored.token,
    rev: stored.meta >>> 16,
    createdAtMs: created,
    updatedAtMs: created + stored.updatedOffset,
    expiresAtMs: created + stored.expiresOffset,
  }
  const network = stored.network
  if (stored instanceof PackedChannelIpv6) record.creatorNetwork = textOfIpv6Prefix(network as number, stored.networkLow)
  else if (network !== undefined) record.creatorNetwork = typeof network === 'number' ? textOfIpv4(network) : network
  if (stored instanceof PackedChannelWithExtra) Object.assign(record, stored.extra)
  return record
}
