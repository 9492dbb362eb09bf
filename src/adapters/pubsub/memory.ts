/**
 * In-process channel events: a Map from channel id to its listeners, for one process with the memory
 * store. Delivery is synchronous and in publish order; nothing is ever lost, so `resync` never comes.
 * A channel costs memory here only while somebody listens to it.
 */
import type { ChannelEvent } from '../../core/relay/channel-event.ts'
import type { ChannelEvents, ChannelListener } from '../../ports.ts'

/** The memory adapter, with a count of listened channels for tests. */
export interface MemoryChannelEvents extends ChannelEvents {
  /** How many channels have at least one listener. */
  channelCount(): number
}

const hear = (listener: ChannelListener, event: ChannelEvent): void => {
  try {
    listener(event)
  } catch {
    // Listeners must not throw (ports.ts); one that does must not starve the others.
  }
}

/**
 * Builds the in-process events.
 *
 * @example
 * const events = memoryChannelEvents()
 * const stop = await events.subscribe(id, (signal) => queue.push(signal))
 */
export const memoryChannelEvents = (): MemoryChannelEvents => {
  // A channel has one or two listeners (its two sockets): an array, smaller than a Set. Each
  // subscription is its own entry (an object, not a closure), even for a listener already subscribed.
  const listeners = new Map<string, Array<{ listener: ChannelListener }>>()
  return {
    async publish(id, event) {
      const entries = listeners.get(id)
      if (entries === undefined) return
      // One listener (a relay subscribes once per channel): no copy to make.
      if (entries.length === 1) return hear((entries[0] as { listener: ChannelListener }).listener, event)
      // A copy: a listener may unsubscribe (or another subscribe) while we deliver.
      for (const { listener } of entries.slice()) hear(listener, event)
    },
    async subscribe(id, listener) {
      const entry = { listener }
      const entries = listeners.get(id)
      if (entries === undefined) listeners.set(id, [entry])
      else entries.push(entry)
      let stopped = false
      return async () => {
        if (stopped) return
        stopped = true
        const current = listeners.get(id)
        const index = current?.indexOf(entry) ?? -1
        if (current === undefined || index < 0) return
        current.splice(index, 1)
        if (current.length === 0) listeners.delete(id)
      }
    },
    async close() {
      listeners.clear()
    },
    channelCount: () => listeners.size,
  }
}
