/**
 * Which networks (and ASNs) are blocked, for the operator (`qrelay network blocks`,
 * `GET /v1/admin/abuse/blocks`). The key-value store cannot list its keys, so every block the abuse
 * guard starts is also noted in a small index: one value per UTC day in which blocks end
 * (`abuse-blocks:<day>`), living until that day is over, so the index never outlives its blocks and
 * needs no clean-up. A listing reads the days from today to the longest block's end and asks the
 * guard, for each source noted, how long it is still denied: a lifted or decayed block is not shown.
 *
 * @see ./abuse-guard.ts
 */
import { parseAddress, parseCidr, prefixOf } from '../core/policy/network.ts'
import type { Clock, KvStore } from '../ports.ts'
import { ASN_SOURCE } from './abuse-sources.ts'

/** One active denial of a source, as the operator sees it. */
export interface AbuseBlock {
  /** The network key (`203.0.113.7`, `2001:db8:1:2::/64`) or `asn:<number>`. */
  network: string
  /** Why it was blocked (`low_completion`, `not_me`, …: the latest reason noted). */
  reason: string
  /** How long it stays denied for everybody, in ms. */
  deniedForMs: number
}

const DAY_MS = 86_400_000
/**
 * Most sources one day's index holds. When it is full, the soonest-ending source of the network that
 * holds the most of them goes (finding 68): one /48 tripping blocks from its /64s evicts only its own.
 */
const MAX_PER_DAY = 2_000
const MAX_CAS_TRIES = 8
/** How far ahead a listing looks at most. */
const MAX_DAYS = 400

/** A source's note: why, and until when. */
interface Noted {
  reason: string
  untilMs: number
}

type DayIndex = Record<string, Noted>

/**
 * The network a source belongs to for the index's bound: an IPv6 /64 its /48 (what one site or tunnel
 * account holds), an IPv4 address its /24, an ASN (or anything else) itself.
 */
const holderOf = (source: string): string => {
  if (source.startsWith(ASN_SOURCE)) return source
  const address = parseCidr(source)?.[0] ?? parseAddress(source)
  return address === null ? source : prefixOf(address, 24, 48)
}

/**
 * `index` within {@link MAX_PER_DAY}: while over it, the soonest-ending source of the holder with the
 * most sources goes (of the holder first noted last, among equals), so that a flood from one network
 * never evicts another network's block.
 */
const bounded = (index: DayIndex): DayIndex => {
  const entries = Object.entries(index)
  if (entries.length <= MAX_PER_DAY) return index
  const byHolder = new Map<string, Array<[string, Noted]>>()
  for (const entry of entries) {
    const holder = holderOf(entry[0])
    const list = byHolder.get(holder)
    if (list === undefined) byHolder.set(holder, [entry])
    else list.push(entry)
  }
  // Each holder's sources, soonest-ending last: the one to drop is at the end.
  for (const list of byHolder.values()) list.sort(([, a], [, b]) => b.untilMs - a.untilMs)
  const dropped = new Set<string>()
  for (let excess = entries.length - MAX_PER_DAY; excess > 0; excess--) {
    let largest: Array<[string, Noted]> = []
    // Among holders of equal size, the one noted last (a flood comes after what it would hide).
    for (const list of byHolder.values()) if (list.length >= largest.length) largest = list
    const gone = largest.pop()
    if (gone !== undefined) dropped.add(gone[0])
  }
  return Object.fromEntries(entries.filter(([source]) => !dropped.has(source)))
}

const dayKey = (day: number): string => `abuse-blocks:${day}`

/**
 * Notes that `source` is blocked until `untilMs` for `reason`. Best effort (never throws): the block
 * itself is stored elsewhere; a lost note only hides it from the listing.
 *
 * @example
 * await noteBlock(kv, clock, '203.0.113.7', 'low_completion', clock.now() + 60_000)
 */
export const noteBlock = async (kv: KvStore, clock: Clock, source: string, reason: string, untilMs: number): Promise<void> => {
  try {
    await note(kv, clock, source, reason, untilMs)
  } catch {
    // Safe: the block is stored and enforced without its note; only the operator's listing misses it.
  }
}

const note = async (kv: KvStore, clock: Clock, source: string, reason: string, untilMs: number): Promise<void> => {
  const day = Math.floor(untilMs / DAY_MS)
  const key = dayKey(day)
  const ttlMs = (day + 1) * DAY_MS - clock.now() + 60_000
  for (let attempt = 0; attempt < MAX_CAS_TRIES; attempt++) {
    const raw = await kv.get(key)
    const index: DayIndex = raw === null ? {} : (JSON.parse(raw) as DayIndex)
    index[source] = { reason, untilMs: Math.max(untilMs, index[source]?.untilMs ?? 0) }
    const text = JSON.stringify(bounded(index))
    // A first note may race another first one: the later put wins and the earlier note is lost (listing only).
    if (raw === null) return kv.put(key, text, ttlMs)
    if ((await kv.replaceIfMatch(key, raw, text)) === 'ok') return
  }
}

/** The operator's view of the blocks. */
export interface AbuseBlocks {
  /** Every source denied for everybody now, longest first. */
  list(): Promise<AbuseBlock[]>
}

/**
 * Builds the listing over the guard's `deniedForMs`.
 *
 * @example
 * const blocks = abuseBlocks({ kv: store.kv, clock, deniedForMs: (s) => abuse.deniedForMs(s) })
 */
export const abuseBlocks = (deps: {
  kv: KvStore
  clock: Clock
  deniedForMs: (source: string) => Promise<number>
  /** The longest block the configuration makes (the listing reads that far ahead). */
  longestBlockMs: number
}): AbuseBlocks => ({
  async list() {
    const today = Math.floor(deps.clock.now() / DAY_MS)
    const days = Math.min(MAX_DAYS, Math.ceil(deps.longestBlockMs / DAY_MS) + 1)
    const noted = new Map<string, string>()
    for (let day = today; day <= today + days; day++) {
      const raw = await deps.kv.get(dayKey(day))
      if (raw === null) continue
      for (const [source, entry] of Object.entries(JSON.parse(raw) as DayIndex)) noted.set(source, entry.reason)
    }
    const blocks: AbuseBlock[] = []
    for (const [network, reason] of noted) {
      const deniedForMs = await deps.deniedForMs(network)
      if (deniedForMs > 0) blocks.push({ network, reason, deniedForMs })
    }
    return blocks.sort((a, b) => b.deniedForMs - a.deniedForMs || (a.network < b.network ? -1 : 1))
  },
})
