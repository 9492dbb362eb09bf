import type { ChannelEvent, ChannelSignal } from '../core/relay/channel-event.ts'

/** Hears the events of one channel. Must return quickly and never throw: queue the work. */
export type ChannelListener = (signal: ChannelSignal) => void

/**
 * Pub/sub of channel events between every process serving the same store (memory: one process;
 * Redis: PUBLISH/SUBSCRIBE). Delivery is at most once: events published after `subscribe` resolves
 * reach the listener, in publish order, unless a connection drops; after a reconnect the listener
 * hears `resync` and must re-read the record. So a subscriber that reads the record once subscribed
 * misses nothing. Events never hold payloads or secrets.
 *
 * A dependency of its own rather than part of {@link EphemeralStore}: Redis needs a dedicated
 * subscriber connection, and a Durable Object fans out to its own sockets without any pub/sub.
 */
export interface ChannelEvents {
  /** Announces `event` to the subscribers of channel `id` on every process. */
  publish(id: string, event: ChannelEvent): Promise<void>
  /**
   * `publish`, done before it returns, where every subscriber is in this process (the memory adapter):
   * the same listeners told in the same order, without a promise. Undefined on a bus across processes.
   */
  publishNow?: (id: string, event: ChannelEvent) => void
  /** Listens to channel `id`; resolves once subscribed, with the function that stops listening. */
  subscribe(id: string, listener: ChannelListener): Promise<() => Promise<void>>
  /** Drops every subscription and releases what the adapter opened itself. */
  close(): Promise<void>
}
