/**
 * In-process channel events: a Map from channel id to its listeners, for one process with the memory
 * store. Delivery is synchronous and in publish order; nothing is ever lost, so `resync` never comes.
 * A channel costs memory here only while somebody listens to it.
 */
import type { ChannelEvents, ChannelListener } from '../../ports.ts'

/** The memory adapter, with a count of listened channels for tests. */
export interface MemoryChannelEvents extends ChannelEvents {
  /** How many channels have at least one listener. */
  channelCount(): number
}

/**
 * Builds the in-process events.
 *
 * @example
 * const events = memoryChannelEvents()
 * const stop = await events.subscribe(id, (signal) => queue.push(signal))
 */
export const memoryChannelEvents = (): MemoryChannelEvents => {
  const listeners = new Map<string, Set<ChannelListener>>()
  return {
    async publish(id, event) {
      const set = listeners.get(id)
      if (set === undefined) return
      // A copy: a listener may unsubscribe (or another subscribe) while we deliver.
      for (const listener of [...set]) {
        try {
          listener(event)
        } catch {
          // Listeners must not throw (ports.ts); one that does must not starve the others.
        }
      }
    },
    async subscribe(id, listener) {
      let set = listeners.get(id)
      if (set === undefined) {
        set = new Set()
        listeners.set(id, set)
      }
      // Each subscription is its own entry, even for a listener already subscribed.
      const entry: ChannelListener = (signal) => listener(signal)
      set.add(entry)
      let stopped = false
      return async () => {
        if (stopped) return
        stopped = true
        const current = listeners.get(id)
        current?.delete(entry)
        if (current?.size === 0) listeners.delete(id)
      }
    },
    async close() {
      listeners.clear()
    },
    channelCount: () => listeners.size,
  }
}
