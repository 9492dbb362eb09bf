/**
 * In-process ephemeral store: Maps plus an unref'd sweeper. Expiry is exact (checked on every read
 * against the injected clock); the sweeper only frees memory. Atomic because JavaScript runs each
 * method to completion without awaiting in between.
 */
import { isLive, type ChannelRecord } from '../../core/rendezvous/channel.ts'
import type {
  ChannelStore,
  Clock,
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
}

interface Counter {
  value: number
  expiresAtMs: number
}

interface KvEntry {
  value: string
  expiresAtMs: number
}

/** The memory store, with `sweep()` exposed for tests and benchmarks. */
export interface MemoryStore extends EphemeralStore {
  sweep(): void
}

/**
 * Builds the memory store.
 *
 * @example
 * const store = memoryStore({ clock: systemClock, sweepIntervalMs: 30_000 })
 */
export const memoryStore = ({ clock, sweepIntervalMs = 30_000 }: MemoryStoreOptions): MemoryStore => {
  const channels = new Map<string, ChannelRecord>()
  const counters = new Map<string, Counter>()
  const values = new Map<string, KvEntry>()
  let lastCapacitySweepMs = -Infinity

  const live = (id: string): ChannelRecord | null => {
    const record = channels.get(id)
    if (record === undefined) return null
    if (isLive(record, clock.now())) return record
    channels.delete(id)
    return null
  }

  const sweep = (): void => {
    const now = clock.now()
    for (const [id, record] of channels) if (!isLive(record, now)) channels.delete(id)
    for (const [key, counter] of counters) if (counter.expiresAtMs <= now) counters.delete(key)
    for (const [key, entry] of values) if (entry.expiresAtMs <= now) values.delete(key)
  }

  const countLive = (): number => {
    const now = clock.now()
    let n = 0
    for (const record of channels.values()) if (isLive(record, now)) n++
    return n
  }

  const channelStore: ChannelStore = {
    async create(record, maxLive): Promise<CreateOutcome> {
      if (live(record.id) !== null) return 'exists'
      if (channels.size >= maxLive) {
        // At the cap, free expired entries (at most once a second: a flood must not make every
        // refused create cost a full scan), then count again. Live channels are never evicted.
        const now = clock.now()
        if (now - lastCapacitySweepMs >= 1000) {
          lastCapacitySweepMs = now
          sweep()
        }
        if (channels.size >= maxLive && countLive() >= maxLive) return 'capacity'
      }
      channels.set(record.id, record)
      return 'ok'
    },
    async get(id) {
      return live(id)
    },
    async replaceIfMatch(id, expectedRev, next): Promise<ReplaceOutcome> {
      const current = live(id)
      if (current === null) return 'missing'
      if (current.rev !== expectedRev) return 'mismatch'
      channels.set(id, next)
      return 'ok'
    },
    async takeOnce(id) {
      const current = live(id)
      if (current !== null) channels.delete(id)
      return current
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

  const liveCounter = (key: string): Counter | null => {
    const counter = counters.get(key)
    if (counter === undefined) return null
    if (counter.expiresAtMs > clock.now()) return counter
    counters.delete(key)
    return null
  }
  const bump = (key: string, ttlMs: number): number => {
    const counter = liveCounter(key)
    if (counter !== null) return ++counter.value
    counters.set(key, { value: 1, expiresAtMs: clock.now() + ttlMs })
    return 1
  }

  const counterStore: CounterStore = {
    async increment(key, ttlMs) {
      return bump(key, ttlMs)
    },
    async read(key) {
      return liveCounter(key)?.value ?? 0
    },
    async hitWindow(key, windowIndex, ttlMs): Promise<WindowCounts> {
      const current = bump(`${key}:${windowIndex}`, ttlMs)
      const previous = liveCounter(`${key}:${windowIndex - 1}`)?.value ?? 0
      return { current, previous }
    },
    async reserveWindow(key, windowIndex, ttlMs, budget): Promise<WindowReservation> {
      const current = liveCounter(`${key}:${windowIndex}`)?.value ?? 0
      const previous = liveCounter(`${key}:${windowIndex - 1}`)?.value ?? 0
      if (previous * budget.previousWeight + (current + 1) * budget.currentWeight > budget.capacity) {
        return { reserved: false, current, previous }
      }
      return { reserved: true, current: bump(`${key}:${windowIndex}`, ttlMs), previous }
    },
    async releaseWindow(key, windowIndex) {
      const counter = liveCounter(`${key}:${windowIndex}`)
      if (counter !== null && counter.value > 0) counter.value--
    },
  }

  const liveEntry = (key: string): KvEntry | null => {
    const entry = values.get(key)
    if (entry === undefined) return null
    if (entry.expiresAtMs > clock.now()) return entry
    values.delete(key)
    return null
  }

  const kv: KvStore = {
    async put(key, value, ttlMs) {
      values.set(key, { value, expiresAtMs: clock.now() + ttlMs })
    },
    async get(key) {
      return liveEntry(key)?.value ?? null
    },
    async replaceIfMatch(key, expected, next): Promise<ReplaceOutcome> {
      const entry = liveEntry(key)
      if (entry === null) return 'missing'
      if (entry.value !== expected) return 'mismatch'
      entry.value = next
      return 'ok'
    },
    async takeOnce(key) {
      const entry = liveEntry(key)
      values.delete(key)
      return entry?.value ?? null
    },
  }

  const timer = sweepIntervalMs > 0 ? setInterval(sweep, sweepIntervalMs) : undefined
  timer?.unref?.()

  return {
    kind: 'memory',
    channels: channelStore,
    counters: counterStore,
    kv,
    sweep,
    async ping() {},
    async close() {
      if (timer !== undefined) clearInterval(timer)
    },
  }
}
