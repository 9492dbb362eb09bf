/**
 * The memory store's counters, one compact entry per key in typed arrays: no key string, no object
 * and no Map entry per counter (about 50 bytes a counter, where a `Map<string, { value, expiresAtMs }>`
 * with its keys and an expiry heap of objects cost 260–300).
 *
 * - A key is held as its fingerprint (`key-fingerprint.ts`: three polynomial hashes at secret bases).
 * - Entries are appended to a log in creation order (the oldest created is the first live one), found
 *   through an open-addressing index of log positions, and freed by an expiry heap of log positions.
 *   The log is compacted (index and heap rebuilt) when it fills, so deletes cost O(1) amortized.
 * - Expiry is exact: every read checks the entry against `now`; the heap only frees memory.
 * - Each entry has a kind (`kindOf`: what the key counts, e.g. DPoP replay marks or guess budgets). At the
 *   cap, once the expired are freed, the oldest entry *of the kind holding the most* goes: a flood of
 *   new keys of one kind evicts only its own kind, never another kind's live counters (finding 53).
 */

import { KeyFingerprint, type PreparedKey } from './key-fingerprint.ts'

export type { PreparedKey }

const MIN_CAPACITY = 64
/** Index slot values: 0 empty, −1 a deleted entry (probing goes on), else log position + 1. */
const EMPTY = 0
const DELETED = -1
/** First fingerprint word of a dead log entry (a live one is in [0, 2²⁶)). */
const DEAD = -1
/** Kinds of counters told apart at the cap (`CounterTableOptions.kindOf` answers 0 to MAX_KINDS − 1). */
export const MAX_KINDS = 8

/** Counters keyed by strings, with a TTL set at creation and never extended. */
export interface CounterTable {
  /**
   * The live value of `key`, 0 when absent or expired (an expired entry is freed). With `window`, the
   * counter is that of the key `${key}:${window}` (hashed without building it; the same for all three).
   * A prepared key (with a window) is the key it was prepared from, without hashing it again.
   */
  read(key: string | PreparedKey, nowMs: number, window?: number): number
  /** Adds one and returns the new value; a new counter expires `ttlMs` after `nowMs`. */
  bump(key: string | PreparedKey, ttlMs: number, nowMs: number, window?: number): number
  /** Takes one off a live counter, never below 0; nothing when absent or expired. */
  release(key: string | PreparedKey, nowMs: number, window?: number): void
  /** `key` hashed once, for calls with a window: to be kept by a caller that counts it again and again. */
  prepare(key: string): PreparedKey
  /** Frees the counters due by `nowMs`. */
  prune(nowMs: number): void
  /** Entries held: live ones and expired ones not yet freed. */
  readonly size: number
}

/** Options of {@link counterTable}. */
export interface CounterTableOptions {
  /**
   * Most counters held; at the cap a new key first frees the expired ones, then evicts the oldest
   * created of the kind that holds the most.
   */
  maxCounters: number
  /** The kind of a key, 0 to {@link MAX_KINDS} − 1 (default: one kind for all). Asked once per new counter. */
  kindOf?: (key: string) => number
}

/** A prepared key with its kind ({@link CounterTable.prepare}). */
interface KindedKey extends PreparedKey {
  readonly kind: number
}

/**
 * Builds an empty table.
 *
 * @example
 * const counters = counterTable({ maxCounters: 100_000 })
 * counters.bump('rl:create:192.0.2.1:29453760', 120_000, clock.now()) // 1
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: one data structure: the log, its index and its heap share their arrays; each operation is a few lines
export const counterTable = ({ maxCounters, kindOf = () => 0 }: CounterTableOptions): CounterTable => {
  // The fingerprint of the last key hashed (no allocation per call).
  const fp = new KeyFingerprint()
  const hash = (key: string | PreparedKey, window: number | undefined): void => fp.hash(key, window)

  // The log, in creation order.
  let capacity = MIN_CAPACITY
  let f0 = new Int32Array(capacity)
  let f1 = new Int32Array(capacity)
  let f2 = new Int32Array(capacity)
  let values = new Float64Array(capacity)
  let expires = new Float64Array(capacity)
  let kinds = new Uint8Array(capacity)
  /** Live entries of each kind, and for each kind a log position before which it has no live entry. */
  const liveOfKind = new Int32Array(MAX_KINDS)
  const kindHead = new Int32Array(MAX_KINDS)
  let length = 0
  let live = 0
  /** No live entry before this position. */
  let head = 0
  // The index: twice the log's capacity, so at most half full.
  let index = new Int32Array(2 * capacity)
  let mask = index.length - 1
  // The expiry heap of log positions, ordered by their expiry (a position's expiry never changes
  // until the log is rebuilt, dead or alive): at most one entry per log position.
  let heapPos = new Int32Array(capacity)
  let heapSize = 0

  const slotOf = (a: number, b: number, c: number): number => ((a ^ (b << 5) ^ (c << 11)) >>> 0) & mask

  /** The index slot holding the fingerprint in `fp`, or −1. Bounded: the index always has empty slots. */
  const find = (): number => {
    const { h0, h1, h2 } = fp
    for (let slot = slotOf(h0, h1, h2), n = 0; n <= mask; slot = (slot + 1) & mask, n++) {
      const v = index[slot] as number
      if (v === EMPTY) return -1
      if (v === DELETED) continue
      const pos = v - 1
      if (f0[pos] === h0 && f1[pos] === h1 && f2[pos] === h2) return slot
    }
    return -1
  }

  /** Indexes log position `pos` (its fingerprint is absent from the index). */
  const place = (pos: number): void => {
    let slot = slotOf(f0[pos] as number, f1[pos] as number, f2[pos] as number)
    while ((index[slot] as number) > 0) slot = (slot + 1) & mask
    index[slot] = pos + 1
  }

  const dueAt = (i: number): number => expires[heapPos[i] as number] as number
  const heapSwap = (i: number, j: number): void => {
    const pos = heapPos[i] as number
    heapPos[i] = heapPos[j] as number
    heapPos[j] = pos
  }
  const siftDown = (start: number): void => {
    let i = start
    for (;;) {
      const l = 2 * i + 1
      let m = i
      if (l < heapSize && dueAt(l) < dueAt(m)) m = l
      if (l + 1 < heapSize && dueAt(l + 1) < dueAt(m)) m = l + 1
      if (m === i) return
      heapSwap(i, m)
      i = m
    }
  }
  const heapPush = (pos: number): void => {
    let i = heapSize++
    heapPos[i] = pos
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (dueAt(parent) <= dueAt(i)) break
      heapSwap(i, parent)
      i = parent
    }
  }

  /** Moves the live entries, in order, into arrays of `next` entries, and rebuilds the index and heap. */
  const rebuild = (next: number): void => {
    const [o0, o1, o2, ov, oe, ok] = [f0, f1, f2, values, expires, kinds]
    if (next !== capacity) {
      capacity = next
      f0 = new Int32Array(next)
      f1 = new Int32Array(next)
      f2 = new Int32Array(next)
      values = new Float64Array(next)
      expires = new Float64Array(next)
      kinds = new Uint8Array(next)
      heapPos = new Int32Array(next)
      index = new Int32Array(2 * next)
      mask = index.length - 1
    } else {
      index.fill(EMPTY)
    }
    let to = 0
    for (let from = head; from < length; from++) {
      if (o0[from] === DEAD) continue
      f0[to] = o0[from] as number
      f1[to] = o1[from] as number
      f2[to] = o2[from] as number
      values[to] = ov[from] as number
      expires[to] = oe[from] as number
      kinds[to] = ok[from] as number
      heapPos[to] = to
      to++
    }
    length = to
    head = 0
    kindHead.fill(0)
    heapSize = to
    for (let i = (heapSize >> 1) - 1; i >= 0; i--) siftDown(i)
    for (let pos = 0; pos < length; pos++) place(pos)
  }

  /** Frees the entry the index holds at `slot`. */
  const remove = (slot: number): void => {
    const pos = (index[slot] as number) - 1
    index[slot] = DELETED
    f0[pos] = DEAD
    const kind = kinds[pos] as number
    liveOfKind[kind] = (liveOfKind[kind] as number) - 1
    live--
  }

  /** Frees the oldest live entry of the kind that holds the most live entries. */
  const evictOldestOfLargestKind = (): void => {
    let kind = 0
    for (let k = 1; k < MAX_KINDS; k++) if ((liveOfKind[k] as number) > (liveOfKind[kind] as number)) kind = k
    let pos = Math.max(head, kindHead[kind] as number)
    while (f0[pos] === DEAD || kinds[pos] !== kind) pos++
    kindHead[kind] = pos + 1
    removeAt(pos)
  }

  /** Frees the live entry at log position `pos`. */
  const removeAt = (pos: number): void => {
    fp.set(f0[pos] as number, f1[pos] as number, f2[pos] as number)
    remove(find())
  }

  const prune = (nowMs: number): void => {
    while (heapSize > 0 && dueAt(0) <= nowMs) {
      const pos = heapPos[0] as number
      heapSize--
      if (heapSize > 0) {
        heapPos[0] = heapPos[heapSize] as number
        siftDown(0)
      }
      if (f0[pos] !== DEAD && (expires[pos] as number) <= nowMs) removeAt(pos)
    }
    // Give memory back once most of it is unused.
    if (capacity > MIN_CAPACITY && live < capacity / 8) rebuild(Math.max(MIN_CAPACITY, capacity >> 1))
  }

  /** The live entry's log position for `key` (hashed), −1 when absent; frees an expired one. */
  const liveAt = (key: string | PreparedKey, nowMs: number, window: number | undefined): number => {
    hash(key, window)
    const slot = find()
    if (slot < 0) return -1
    const pos = (index[slot] as number) - 1
    if ((expires[pos] as number) > nowMs) return pos
    remove(slot)
    return -1
  }

  const append = (ttlMs: number, nowMs: number, kind: number): void => {
    if (length === capacity) rebuild(2 * live >= capacity ? 2 * capacity : capacity)
    const pos = length++
    f0[pos] = fp.h0
    f1[pos] = fp.h1
    f2[pos] = fp.h2
    values[pos] = 1
    expires[pos] = nowMs + ttlMs
    kinds[pos] = kind
    liveOfKind[kind] = (liveOfKind[kind] as number) + 1
    live++
    place(pos)
    heapPush(pos)
  }

  return {
    read(key, nowMs, window) {
      const pos = liveAt(key, nowMs, window)
      return pos < 0 ? 0 : (values[pos] as number)
    },
    bump(key, ttlMs, nowMs, window) {
      const pos = liveAt(key, nowMs, window)
      if (pos >= 0) {
        values[pos] = (values[pos] as number) + 1
        return values[pos] as number
      }
      const kind = typeof key === 'string' ? kindOf(key) : ((key as Partial<KindedKey>).kind ?? 0)
      if (live >= maxCounters) {
        const { h0, h1, h2 } = fp
        prune(nowMs)
        // Still full of live counters: the oldest of the most numerous kind goes.
        while (live >= maxCounters && live > 0) evictOldestOfLargestKind()
        // `prune` and `removeAt` looked up other keys.
        fp.set(h0, h1, h2)
      }
      append(ttlMs, nowMs, kind)
      return 1
    },
    release(key, nowMs, window) {
      const pos = liveAt(key, nowMs, window)
      if (pos < 0) return
      const value = values[pos] as number
      // Back to nothing: the entry goes, as if never made (a refunded reservation leaves no counter behind).
      if (value <= 1) removeAt(pos)
      else values[pos] = value - 1
    },
    prune,
    prepare: (key): PreparedKey => ({ ...fp.prepare(key), kind: kindOf(key) }) as KindedKey,
    get size() {
      return live
    },
  }
}
