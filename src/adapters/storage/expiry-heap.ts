/**
 * A binary min-heap of (expiry, key) pairs: the memory store's index of what expires next, so that
 * dropping expired entries costs O(log n) per entry dropped and never a walk over everything live.
 * Entries are not removed when their key is deleted or re-timed: the owner checks each popped entry
 * against its map (lazy deletion), so the heap holds at most one entry per write within a TTL.
 */

interface Entry {
  atMs: number
  key: string
}

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
  const heap: Entry[] = []
  const swap = (i: number, j: number): void => {
    const t = heap[i] as Entry
    heap[i] = heap[j] as Entry
    heap[j] = t
  }
  const less = (i: number, j: number): boolean => (heap[i] as Entry).atMs < (heap[j] as Entry).atMs
  const siftDown = (start: number): void => {
    let i = start
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < heap.length && less(l, m)) m = l
      if (r < heap.length && less(r, m)) m = r
      if (m === i) return
      swap(i, m)
      i = m
    }
  }
  return {
    push(key, atMs) {
      heap.push({ atMs, key })
      let i = heap.length - 1
      while (i > 0) {
        const parent = (i - 1) >> 1
        if (!less(i, parent)) break
        swap(i, parent)
        i = parent
      }
    },
    popDue(nowMs, drop) {
      while (heap.length > 0 && (heap[0] as Entry).atMs <= nowMs) {
        const top = heap[0] as Entry
        const last = heap.pop() as Entry
        if (heap.length > 0) {
          heap[0] = last
          siftDown(0)
        }
        drop(top.key, top.atMs)
      }
    },
    retain(keep) {
      const kept = heap.filter((entry) => keep(entry.key, entry.atMs))
      heap.length = 0
      heap.push(...kept)
      for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(i)
    },
    get size() {
      return heap.length
    },
  }
}
