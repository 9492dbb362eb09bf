import type { ChannelRecord, RendezvousApi } from '../core/rendezvous/channel.ts'
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
  /** `counters.hitWindow`, now; `key` may be one {@link counterKey} prepared. */
  hitWindow(key: string | CounterKey, windowIndex: number, ttlMs: number): WindowCounts
  /** The counter key `key`, hashed once for `hitWindow`: for a caller that counts the same key again and again. */
  counterKey(key: string): CounterKey
  /** `channels.get`, now, without copying the record: its fields as the store holds them (see {@link ChannelPeek}). */
  peekChannel(id: string): ChannelPeek | null
  /**
   * `channels.replaceIfMatch(id, expectedRev, next)`, now, where `next` is the live record with `data`,
   * `token` and `updatedAtMs` replaced and `version` and `rev` one higher (a write, as `writeChannel`
   * makes it), without the caller building `next`.
   */
  writeChannelNow(id: string, expectedRev: number, data: string, token: string, updatedAtMs: number): ReplaceOutcome
}

declare const prepared: unique symbol

/**
 * A counter key prepared by {@link InProcessStore.counterKey}: opaque (what it holds is the store's;
 * it keeps no copy of the key), and only that store's `hitWindow` takes it.
 */
export interface CounterKey {
  readonly [prepared]: true
}

/**
 * The fields of a live channel a write decides on, read where the store holds them (no copy): to be
 * read at once and never changed or kept (the store may hand out the object it holds).
 */
export interface ChannelPeek {
  readonly api: RendezvousApi
  readonly data: string
  readonly token: string
  readonly version: number
  readonly rev: number
  readonly expiresAtMs: number
}
