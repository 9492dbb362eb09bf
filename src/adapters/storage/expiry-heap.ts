/**
 * A binary min-heap of (expiry, key) pairs: the memory store's index of what expires next, so that
 * dropping expired entries costs O(log n) per entry dropped and never a walk over everything live.
 * Entries are not removed when their key is deleted or re-timed: the owner checks each popped entry
 * against its map (lazy deletion), so the heap holds at most one entry per write within a TTL.
 *
 * Kept as two parallel arrays (expiries as unboxed doubles, keys as references to the map's own key
 * strings): about 16 bytes an entry, where an object per entry cost about 70.
 */

/** The heap. */
export interface ExpiryHeap {
  /** Records that `key` expires at `atMs`. */
  push(key: string, atMs: number): void
  /** Pops every entry due at or before `nowMs`, calling `drop` with each key (oldest first). */
  popDue(nowMs: number, drop: (key: string, atMs: number) => void): void
  /** Keeps only the entries `keep` accepts (O(n)): the owner compacts when stale entries pile up. */
  retain(keep: (key: string, atMs: number) => boolean): void
  readonly size: number
}

/**
 * Builds an empty heap.
 *
 * @example
 * const due = expiryHeap()
 * due.push('ch1', record.expiresAtMs)
 * due.popDue(clock.now(), (id, at) => { if (channels.get(id)?.expiresAtMs === at) channels.delete(id) })
 */
export const expiryHeap = (): ExpiryHeap => {
  // Parallel arrays: `ats[i]` is when `keys[i]` expires; a plain array of numbers stays unboxed.
  let ats: number[] = []
  let keys: string[] = []
  const swap = (i: number, j: number): void => {
    const at = ats[i] as number
    ats[i] = ats[j] as number
    ats[j] = at
    const key = keys[i] as string
    keys[i] = keys[j] as string
    keys[j] = key
  }
  const less = (i: number, j: number): boolean => (ats[i] as number) < (ats[j] as number)
  const siftDown = (start: number): void => {
    let i = start
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < ats.length && less(l, m)) m = l
      if (r < ats.length && less(r, m)) m = r
      if (m === i) return
      swap(i, m)
      i = m
    }
  }
  return {
    push(key, atMs) {
      ats.push(atMs)
      keys.push(key)
      let i = ats.length - 1
      while (i > 0) {
        const parent = (i - 1) >> 1
        if (!less(i, parent)) break
        swap(i, parent)
        i = parent
      }
    },
    popDue(nowMs, drop) {
      while (ats.length > 0 && (ats[0] as number) <= nowMs) {
        const topAt = ats[0] as number
        const topKey = keys[0] as string
        const lastAt = ats.pop() as number
        const lastKey = keys.pop() as string
        if (ats.length > 0) {
          ats[0] = lastAt
          keys[0] = lastKey
          siftDown(0)
        }
        drop(topKey, topAt)
      }
    },
    retain(keep) {
      const keptAts: number[] = []
      const keptKeys: string[] = []
      for (let i = 0; i < ats.length; i++) {
        if (keep(keys[i] as string, ats[i] as number)) {
          keptAts.push(ats[i] as number)
          keptKeys.push(keys[i] as string)
        }
      }
      ats = keptAts
      keys = keptKeys
      for (let i = (ats.length >> 1) - 1; i >= 0; i--) siftDown(i)
    },
    get size() {
      return ats.length
    },
  }
}
