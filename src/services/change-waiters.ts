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

/**
 * Change notices between processes (Redis pub/sub on Node with the Redis store): one process tells the
 * others which record changed, by an opaque name, so their held readers of it wake at once.
 */
export interface ChangeNotices {
  /** Tells the other processes that the record named `name` of `topic` changed (best effort, at most once). */
  publish(topic: string, name: string): void
  /**
   * Hears the other processes' notices of `topic` (never this process's own); `onLoss` is called when
   * notices may have been lost (a reconnect). Resolves once listening.
   */
  listen(topic: string, onNotice: (name: string) => void, onLoss?: () => void): Promise<void>
}

/**
 * Waiters that other processes wake too: `changed` wakes this process's waiters of the key and tells
 * the other processes (by `nameOf(key)`, an opaque name); their notices wake the waiters here. Waits still
 * end at their deadline, so a lost notice costs only the caller's re-read interval.
 *
 * @example
 * const grantsChanged = sharedChangeWaiters(changeWaiters(true), notices, 'grant', opaqueKey)
 * await grantsChanged.ready
 */
export const sharedChangeWaiters = (
  local: ChangeWaiters,
  notices: ChangeNotices,
  topic: string,
  nameOf: (key: string) => string,
): ChangeWaiters & { ready: Promise<void> } => {
  // The keys waited on now, by their opaque name, with how many waits each has.
  const waited = new Map<string, { key: string; count: number }>()
  const ready = notices.listen(
    topic,
    (name) => {
      const entry = waited.get(name)
      if (entry !== undefined) local.changed(entry.key)
    },
    () => {
      for (const { key } of [...waited.values()]) local.changed(key)
    },
  )
  return {
    ready,
    changed(key) {
      local.changed(key)
      notices.publish(topic, nameOf(key))
    },
    async nextChange(key, ms, signal) {
      const name = nameOf(key)
      const entry = waited.get(name) ?? { key, count: 0 }
      entry.count++
      waited.set(name, entry)
      try {
        await local.nextChange(key, ms, signal)
      } finally {
        if (--entry.count === 0 && waited.get(name) === entry) waited.delete(name)
      }
    },
  }
}
