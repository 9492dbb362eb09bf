/**
 * In-process ephemeral store: Maps plus an unref'd sweeper. Expiry is exact (checked on every read
 * against the injected clock); the sweeper only frees memory. Atomic because JavaScript runs each
 * method to completion without awaiting in between.
 *
 * Channels keep an expiry heap, so the live-channel count is the map's size once the due entries are
 * popped (O(log n) per expired entry, never a walk over the live ones). Counters live in a compact
 * table (`counter-table.ts`: one fixed-size entry per key, with its own expiry heap) and are bounded:
 * at `maxCounters` the expired ones go first, then the oldest created of the kind that holds the most
 * (`counter-kinds.ts`): a flood of new keys can only evict its own kind, never grow memory.
 *
 * The channel and window-counter steps of a WebSocket put and of the Matrix channel requests are also
 * given synchronously (`inProcess`, the `InProcessStore` port): the asynchronous methods are those same steps.
 */
import { counterKind } from './counter-kinds.ts'
import { counterTable, type PreparedKey } from './counter-table.ts'
import { expiryHeap, type ExpiryHeap } from './expiry-heap.ts'
import { PackedChannel, packChannel, packedWrite, unpackChannel, type StoredChannel } from './packed-channel.ts'
import type { ChannelRecord } from '../../core/rendezvous/channel.ts'
import type {
  ChannelStore,
  Clock,
  CounterKey,
  CounterStore,
  CreateOutcome,
  EphemeralStore,
  KvStore,
  ReplaceOutcome,
  WindowCounts,
  WindowReservation,
} from '../../ports.ts'

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  clock: Clock
  /** How often expired entries are freed; 0 disables the timer (tests call `sweep()`). */
  sweepIntervalMs?: number
  /**
   * Most counters held at once (rate windows, guess budgets, DPoP replay marks, abuse signals); beyond,
   * the oldest of the most numerous kind is evicted. Default 1 000 000.
   */
  maxCounters?: number
}

/**
 * Default of {@link MemoryStoreOptions.maxCounters}: ≈ 40–80 MB when full, and more accepted DPoP proofs
 * than a process answers in a replay mark's 65 s, so a flood cannot evict a live mark either.
 */
export const DEFAULT_MAX_COUNTERS = 1_000_000

interface KvEntry {
  value: string
  expiresAtMs: number
}

/** The memory store, with `sweep()` and its sizes exposed for tests and benchmarks. */
export interface MemoryStore extends EphemeralStore {
  sweep(): void
  /** Entries held (live or not yet freed): channels and counters. */
  sizes(): { channels: number; counters: number }
}

/**
 * Pushes an expiry; when deleted or evicted entries have left the heap twice the map's size, drops
 * them first (amortized O(1) per push), so the heap stays in proportion to what is held.
 */
const schedule = (heap: ExpiryHeap, map: Map<string, { expiresAtMs: number }>, key: string, atMs: number): void => {
  if (heap.size >= 2 * map.size + 1024) heap.retain((k, at) => map.get(k)?.expiresAtMs === at)
  heap.push(key, atMs)
}

/**
 * `current` with `data`, `token` and `updatedAtMs` written and `version` and `rev` one higher: packed from
 * the stored fields where it can be, else unpacked and packed again.
 */
const writtenChannel = (id: string, current: StoredChannel, data: string, token: string, updatedAtMs: number): StoredChannel => {
  const packed = current instanceof PackedChannel ? packedWrite(current, data, token, updatedAtMs) : undefined
  if (packed !== undefined) return packed
  const record = unpackChannel(id, current)
  return packChannel(id, { ...record, data, version: record.version + 1, token, rev: record.rev + 1, updatedAtMs })
}

/** The channels, with `prune(now)` to free the due ones and their count. */
const memoryChannels = (clock: Clock) => {
  // Records are held packed (`packed-channel.ts`); `expiresAtMs` and `rev` read the same either way.
  const channels = new Map<string, StoredChannel>()
  const channelsDue = expiryHeap()

  /** Frees the channels due by now (a popped entry counts only if the record still expires then). */
  const prune = (now: number): void => {
    channelsDue.popDue(now, (id, atMs) => {
      if (channels.get(id)?.expiresAtMs === atMs) channels.delete(id)
    })
  }

  const live = (id: string): StoredChannel | null => {
    const stored = channels.get(id)
    if (stored === undefined) return null
    if (clock.now() < stored.expiresAtMs) return stored
    channels.delete(id)
    return null
  }

  /** Live channels, exactly: the map holds no expired record once the due ones are popped. */
  const countLive = (): number => {
    prune(clock.now())
    return channels.size
  }

  // The synchronous steps, shared by the asynchronous methods and `inProcess`.
  const get = (id: string): ChannelRecord | null => {
    const stored = live(id)
    return stored === null ? null : unpackChannel(id, stored)
  }
  const replaceIfMatch = (id: string, expectedRev: number, next: ChannelRecord): ReplaceOutcome => {
    const current = live(id)
    if (current === null) return 'missing'
    if (current.rev !== expectedRev) return 'mismatch'
    const expiresAtMs = current.expiresAtMs
    channels.set(id, packChannel(id, next))
    if (next.expiresAtMs !== expiresAtMs) schedule(channelsDue, channels, id, next.expiresAtMs)
    return 'ok'
  }

  /** `replaceIfMatch` of the live record written (see `InProcessStore.writeChannelNow`), packed in place of unpacked and packed again. */
  const write = (id: string, expectedRev: number, data: string, token: string, updatedAtMs: number): ReplaceOutcome => {
    const current = live(id)
    if (current === null) return 'missing'
    if (current.rev !== expectedRev) return 'mismatch'
    // The expiry is unchanged: nothing to schedule.
    channels.set(id, writtenChannel(id, current, data, token, updatedAtMs))
    return 'ok'
  }
  const create = (record: ChannelRecord, maxLive: number): CreateOutcome => {
    if (live(record.id) !== null) return 'exists'
    // Live channels are never evicted: at the cap, creation is refused.
    if (channels.size >= maxLive && countLive() >= maxLive) return 'capacity'
    channels.set(record.id, packChannel(record.id, record))
    schedule(channelsDue, channels, record.id, record.expiresAtMs)
    return 'ok'
  }
  const takeOnce = (id: string): ChannelRecord | null => {
    const current = live(id)
    if (current === null) return null
    channels.delete(id)
    return unpackChannel(id, current)
  }

  const store: ChannelStore = {
    async create(record, maxLive): Promise<CreateOutcome> {
      return create(record, maxLive)
    },
    async get(id) {
      return get(id)
    },
    async replaceIfMatch(id, expectedRev, next): Promise<ReplaceOutcome> {
      return replaceIfMatch(id, expectedRev, next)
    },
    async takeOnce(id) {
      return takeOnce(id)
    },
    async delete(id) {
      const current = live(id)
      channels.delete(id)
      return current !== null
    },
    async liveCount() {
      return countLive()
    },
  }
  return { store, get, replaceIfMatch, peek: live, write, create, takeOnce, prune, size: (): number => channels.size }
}

/** The counters, bounded by `maxCounters`, with `prune(now)` to free the due ones and their count. */
const memoryCounters = (clock: Clock, maxCounters: number) => {
  const table = counterTable({ maxCounters, kindOf: counterKind })

  // A prepared key is one of this table's (`InProcessStore.counterKey`).
  const hitWindow = (key: string | CounterKey, windowIndex: number, ttlMs: number): WindowCounts => {
    const current = table.bump(key as string | PreparedKey, ttlMs, clock.now(), windowIndex)
    const previous = table.read(key as string | PreparedKey, clock.now(), windowIndex - 1)
    return { current, previous }
  }

  const store: CounterStore = {
    async increment(key, ttlMs) {
      return table.bump(key, ttlMs, clock.now())
    },
    async read(key) {
      return table.read(key, clock.now())
    },
    async hitWindow(key, windowIndex, ttlMs): Promise<WindowCounts> {
      return hitWindow(key, windowIndex, ttlMs)
    },
    async reserveWindow(key, windowIndex, ttlMs, budget): Promise<WindowReservation> {
      const current = table.read(key, clock.now(), windowIndex)
      const previous = table.read(key, clock.now(), windowIndex - 1)
      if (previous * budget.previousWeight + (current + 1) * budget.currentWeight > budget.capacity) {
        return { reserved: false, current, previous }
      }
      return { reserved: true, current: table.bump(key, ttlMs, clock.now(), windowIndex), previous }
    },
    async releaseWindow(key, windowIndex) {
      table.release(key, clock.now(), windowIndex)
    },
  }
  const counterKey = (key: string): CounterKey => table.prepare(key) as unknown as CounterKey
  return { store, hitWindow, counterKey, prune: (now: number): void => table.prune(now), size: (): number => table.size }
}

/** The key-value entries, with `prune(now)` to free the expired ones. */
const memoryKv = (clock: Clock) => {
  const values = new Map<string, KvEntry>()

  const liveEntry = (key: string): KvEntry | null => {
    const entry = values.get(key)
    if (entry === undefined) return null
    if (entry.expiresAtMs > clock.now()) return entry
    values.delete(key)
    return null
  }

  const store: KvStore = {
    async put(key, value, ttlMs) {
      values.set(key, { value, expiresAtMs: clock.now() + ttlMs })
    },
    async get(key) {
      return liveEntry(key)?.value ?? null
    },
    async replaceIfMatch(key, expected, next, ttlMs): Promise<ReplaceOutcome> {
      const entry = liveEntry(key)
      if (entry === null) return 'missing'
      if (entry.value !== expected) return 'mismatch'
      entry.value = next
      if (ttlMs !== undefined) entry.expiresAtMs = clock.now() + ttlMs
      return 'ok'
    },
    async takeOnce(key) {
      const entry = liveEntry(key)
      values.delete(key)
      return entry?.value ?? null
    },
  }
  const prune = (now: number): void => {
    for (const [key, entry] of values) if (entry.expiresAtMs <= now) values.delete(key)
  }
  return { store, prune }
}

/**
 * Builds the memory store.
 *
 * @example
 * const store = memoryStore({ clock: systemClock, sweepIntervalMs: 30_000 })
 */
export const memoryStore = ({ clock, sweepIntervalMs = 30_000, maxCounters = DEFAULT_MAX_COUNTERS }: MemoryStoreOptions): MemoryStore => {
  const channels = memoryChannels(clock)
  const counters = memoryCounters(clock, maxCounters)
  const kv = memoryKv(clock)

  const sweep = (): void => {
    const now = clock.now()
    channels.prune(now)
    counters.prune(now)
    kv.prune(now)
  }

  const timer = sweepIntervalMs > 0 ? setInterval(sweep, sweepIntervalMs) : undefined
  timer?.unref?.()

  return {
    kind: 'memory',
    channels: channels.store,
    counters: counters.store,
    kv: kv.store,
    inProcess: {
      getChannel: channels.get,
      replaceChannelIfMatch: channels.replaceIfMatch,
      createChannel: channels.create,
      takeChannelOnce: channels.takeOnce,
      hitWindow: counters.hitWindow,
      counterKey: counters.counterKey,
      peekChannel: channels.peek,
      writeChannelNow: channels.write,
    },
    sweep,
    sizes: () => ({ channels: channels.size(), counters: counters.size() }),
    async ping() {},
    async close() {
      if (timer !== undefined) clearInterval(timer)
    },
  }
}
