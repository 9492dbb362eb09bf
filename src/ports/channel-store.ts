import type { ChannelRecord } from '../core/rendezvous/channel.ts'
import type { RendezvousApi, TokenWrite } from '../core/rendezvous/channel.ts'
import type { ChannelLimit, Limited } from './channel-limit.ts'
import type { ReplaceOutcome } from './replace-outcome.ts'

/** A write of the Matrix APIs (defined in core beside `writeChannel`, whose rule it follows). */
export type { TokenWrite }

/**
 * What a {@link TokenWrite} did: `written` (the record stored), `unchanged` (an idempotent retry: the
 * current record), `stale` (refused: the current record), `missing` (no live record of that API), or
 * `busy` (the record kept changing under a composed compare-and-swap; nothing stored).
 */
export type TokenWriteOutcome =
  | { outcome: 'written'; record: ChannelRecord }
  | { outcome: 'unchanged'; record: ChannelRecord }
  | { outcome: 'stale'; record: ChannelRecord }
  | { outcome: 'missing' }
  | { outcome: 'busy' }

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
  /*
   * Optional fused intents: a rate-limit hit and a channel operation in one atomic step (one Lua script
   * in Redis). An adapter without them gets the same outcomes composed from the methods above and its
   * counter store (`fusedChannelOps` in `services/channel-limits.ts`). The counter of `limitAndGet` and
   * `limitAndTake` belongs to the channel (an adapter may keep it beside the record, e.g. on its Redis
   * Cluster slot), so it is only ever hit through these methods; the counter of `limitAndCreate` is the
   * counter store's own `limit.key`.
   */
  /** Counts the hit; when admitted, the live record (null when unknown, deleted or expired). */
  limitAndGet?(id: string, limit: ChannelLimit): Promise<Limited<ChannelRecord | null>>
  /** Counts the hit; when admitted, takes the live record if it is one of `api` (otherwise touches nothing). */
  limitAndTake?(id: string, api: RendezvousApi, limit: ChannelLimit): Promise<Limited<ChannelRecord | null>>
  /** Counts the hit; when admitted, {@link create}s `record`. */
  limitAndCreate?(record: ChannelRecord, maxLive: number, limit: ChannelLimit): Promise<Limited<CreateOutcome>>
  /**
   * Counts the hit (the same channel counter as `limitAndGet`'s of that name); when admitted, applies
   * `write` to the live record of `write.api` (version, revision and `updatedAtMs` advance on a write).
   */
  limitAndWrite?(id: string, write: TokenWrite, limit: ChannelLimit): Promise<Limited<TokenWriteOutcome>>
}
