/**
 * In-process channel events: a Map from channel id to its listeners, for one process with the memory
 * store. Delivery is synchronous and in publish order; nothing is ever lost, so `resync` never comes.
 * `publishNow` is `publish` without the promise (what the relay's puts use).
 * A channel costs memory here only while somebody listens to it.
 */
import type { ChannelEvent } from '../../core/relay/channel-event.ts'
import type { ChannelEvents, ChannelListener } from '../../ports.ts'

/** The memory adapter, with a count of listened channels for tests. */
export interface MemoryChannelEvents extends ChannelEvents {
  /** `publish`, done before it returns. */
  publishNow: (id: string, event: ChannelEvent) => void
  /** How many channels have at least one listener. */
  channelCount(): number
}

/** One subscription. */
interface Entry {
  listener: ChannelListener
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
  // A channel has one listener (a relay subscribes once per channel per process) or a few: the lone
  // entry itself, else an array, smaller than a Set. Each subscription is its own entry (an object,
  // not a closure), even for a listener already subscribed; stopping one removes that entry, once.
  const listeners = new Map<string, Entry | Entry[]>()
  // Delivery is synchronous either way: `publish` is this, wrapped in a promise.
  const publishNow = (id: string, event: ChannelEvent): void => {
    const held = listeners.get(id)
    if (held === undefined) return
    if (!Array.isArray(held)) return void hear(held.listener, event)
    // A copy: a listener may unsubscribe (or another subscribe) while we deliver.
    for (const { listener } of held.slice()) hear(listener, event)
  }
  return {
    async publish(id, event) {
      publishNow(id, event)
    },
    publishNow,
    async subscribe(id, listener) {
      const entry: Entry = { listener }
      const held = listeners.get(id)
      if (held === undefined) listeners.set(id, entry)
      else if (Array.isArray(held)) held.push(entry)
      else listeners.set(id, [held, entry])
      return async () => {
        const current = listeners.get(id)
        if (current === entry) return void listeners.delete(id)
        if (!Array.isArray(current)) return
        const index = current.indexOf(entry)
        if (index < 0) return
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
