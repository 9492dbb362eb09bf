/**
 * Readers waiting, in this process, for a change under a key (an account's feed, a device grant):
 * each wait ends at its deadline, when the caller gives up, or at once when a writer in this process
 * reports a change of that key. Waking is off where one request may not resume another (Workers):
 * there a waiter only sees news at its deadline, when it re-reads the store.
 */

/** The waiting readers of one kind of record. */
export interface ChangeWaiters {
  /** Ends the waits on `key` now (nothing when waking is off). */
  changed(key: string): void
  /** Resolves after `ms`, when `signal` aborts, or when `key` is reported changed, whichever is first. */
  nextChange(key: string, ms: number, signal?: AbortSignal): Promise<void>
}

/**
 * Builds the registry; `wakes` false: waits only end at their deadline or on abort.
 *
 * @example
 * const feeds = changeWaiters(true)
 * await feeds.nextChange(accountId, 500, signal) // elsewhere: feeds.changed(accountId)
 */
export const changeWaiters = (wakes: boolean): ChangeWaiters => {
  const waiting = new Map<string, Set<() => void>>()
  return {
    changed(key) {
      if (wakes) for (const done of waiting.get(key) ?? []) done()
    },
    nextChange: (key, ms, signal) =>
      new Promise<void>((resolve) => {
        const set = waiting.get(key) ?? new Set<() => void>()
        waiting.set(key, set)
        const done = (): void => {
          clearTimeout(timer)
          set.delete(done)
          if (set.size === 0) waiting.delete(key)
          signal?.removeEventListener('abort', done)
          resolve()
        }
        const timer = setTimeout(done, ms)
        set.add(done)
        signal?.addEventListener('abort', done, { once: true })
      }),
  }
}
