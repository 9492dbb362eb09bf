import type { ChannelRecord } from '../core/rendezvous/channel.ts'
import type { WindowCounts } from './counter-store.ts'
import type { CreateOutcome } from './channel-store.ts'
import type { ReplaceOutcome } from './replace-outcome.ts'

/**
 * Synchronous access to a store that lives in this process (the memory store): a caller that would
 * await several of its methods in a row may instead run them as one synchronous step, with nothing
 * else running in between. Each method is the store's method of the same name, answered at once: the
 * same outcome, the same state after it. Stores shared across processes (Redis, Durable Objects) have
 * none and keep the asynchronous path.
 */
export interface InProcessStore {
  /** `channels.get`, now. */
  getChannel(id: string): ChannelRecord | null
  /** `channels.replaceIfMatch`, now. */
  replaceChannelIfMatch(id: string, expectedRev: number, next: ChannelRecord): ReplaceOutcome
  /** `channels.create`, now. */
  createChannel(record: ChannelRecord, maxLive: number): CreateOutcome
  /** `channels.takeOnce`, now. */
  takeChannelOnce(id: string): ChannelRecord | null
  /** `counters.hitWindow`, now. */
  hitWindow(key: string, windowIndex: number, ttlMs: number): WindowCounts
}
