import type { ChannelRecord } from '../core/rendezvous/channel.ts'
import type { ReplaceOutcome } from './replace-outcome.ts'

/** Outcome of {@link ChannelStore.create}. `capacity` means the live-channel cap is reached. */
export type CreateOutcome = 'ok' | 'exists' | 'capacity'

/**
 * Ephemeral rendezvous channels. A record past its `expiresAtMs` is gone for every method, whatever
 * any sweeper has or has not done yet.
 */
export interface ChannelStore {
  /** Stores a new record unless its id exists or `maxLive` unexpired channels already exist. Never evicts. */
  create(record: ChannelRecord, maxLive: number): Promise<CreateOutcome>
  /** The live record, or null when unknown, deleted or expired. */
  get(id: string): Promise<ChannelRecord | null>
  /** Replaces the record only if its stored `rev` still equals `expectedRev` (compare-and-swap). */
  replaceIfMatch(id: string, expectedRev: number, next: ChannelRecord): Promise<ReplaceOutcome>
  /** Atomically reads and deletes: of many concurrent callers, at most one gets the record. */
  takeOnce(id: string): Promise<ChannelRecord | null>
  /** Deletes; true when a live record was there. */
  delete(id: string): Promise<boolean>
  /** Number of live (unexpired) channels. */
  liveCount(): Promise<number>
}
