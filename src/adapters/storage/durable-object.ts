/**
 * Durable Object ephemeral store (Cloudflare Workers): one object per rendezvous channel, and a fixed
 * set of shard objects holding rate counters, small TTL values and live-channel reservations. Each port
 * method is one call of one object's method, atomic because an object runs one event at a time (its
 * input gate stays shut while it only touches its own storage). Every call carries the caller's clock,
 * so a record is gone the moment that clock passes its expiry; the objects' alarms only free storage.
 *
 * The live-channel cap without a global object: a channel reserves a place in the shard its id hashes
 * to, and each shard admits `ceil(maxLive / shardsUsed)` unexpired reservations, `shardsUsed` being as
 * many shards as keep at least {@link MIN_RESERVATIONS_PER_SHARD} places each. The trade-off: creation
 * is refused when the channel's own shard is full, so under a large cap the first refusals come a few
 * per cent below `maxLive` (ids are random, so shards fill evenly) and the total never passes
 * `maxLive + shardsUsed - 1`. Caps under 2 × MIN_RESERVATIONS_PER_SHARD use one shard and are exact.
 * `liveCount` sums every shard (one call each: for /readyz and operators, not for the hot path).
 *
 * The object classes live in `src/runtime/` (they need the Workers runtime); this file only speaks to
 * their stubs, so it type-checks and bundles anywhere.
 */
import type { ChannelRecord } from '../../core/rendezvous/channel.ts'
import type {
  ChannelStore,
  Clock,
  CounterStore,
  CreateOutcome,
  EphemeralStore,
  KvStore,
  ReplaceOutcome,
  WindowBudget,
  WindowCounts,
  WindowReservation,
} from '../../ports.ts'
import { channelObjectName, opaqueKey } from './opaque-key.ts'

/** What a channel object answers (one object per channel id; see `src/runtime/channel-object.ts`). */
export interface ChannelObjectApi {
  /** Stores the record unless a live one is there; `reservedIn` is the shard holding its reservation. */
  create(record: ChannelRecord, reservedIn: number, nowMs: number): Promise<'ok' | 'exists'>
  get(nowMs: number): Promise<ChannelRecord | null>
  replaceIfMatch(expectedRev: number, next: ChannelRecord, nowMs: number): Promise<ReplaceOutcome>
  takeOnce(nowMs: number): Promise<TakenChannel | null>
}

/** A channel taken from its object, with the shard its reservation is to be released from. */
export interface TakenChannel {
  record: ChannelRecord
  reservedIn: number
}

/** Outcome of a reservation: `held` when this id already holds an unexpired one. */
export type ReserveOutcome = 'ok' | 'held' | 'capacity'

/** What a shard object answers (see `src/runtime/counter-object.ts`). */
export interface CounterObjectApi {
  reserve(id: string, expiresAtMs: number, nowMs: number, maxLive: number): Promise<ReserveOutcome>
  release(id: string): Promise<void>
  liveCount(nowMs: number): Promise<number>
  increment(key: string, ttlMs: number, nowMs: number): Promise<number>
  read(key: string, nowMs: number): Promise<number>
  hitWindow(key: string, windowIndex: number, ttlMs: number, nowMs: number): Promise<WindowCounts>
  reserveWindow(key: string, windowIndex: number, ttlMs: number, budget: WindowBudget, nowMs: number): Promise<WindowReservation>
  releaseWindow(key: string, windowIndex: number, nowMs: number): Promise<void>
  kvPut(key: string, value: string, expiresAtMs: number): Promise<void>
  kvRead(key: string, nowMs: number, remove: boolean): Promise<string | null>
  /** `expiresAtMs` null keeps the stored expiry. */
  kvReplaceIfMatch(key: string, expected: string, next: string, nowMs: number, expiresAtMs: number | null): Promise<ReplaceOutcome>
  ping(): Promise<void>
}

/** The part of a Durable Object namespace binding the store uses. */
export interface ObjectNamespace<Api> {
  getByName(name: string): Api
}

/** Options of {@link durableObjectStore}. */
export interface DurableObjectStoreOptions {
  channels: ObjectNamespace<ChannelObjectApi>
  counters: ObjectNamespace<CounterObjectApi>
  clock: Clock
  /** Prefix of every object name: deployments (or tests) sharing the namespaces stay apart. */
  namePrefix?: string
  /** How many shard objects share counters, values and reservations (fixed for a deployment). */
  shards?: number
}

/** Below this many places per shard, the cap uses fewer shards (exact for small caps). */
export const MIN_RESERVATIONS_PER_SHARD = 1000
const DEFAULT_SHARDS = 32

/** FNV-1a, 32 bits: spreads keys over shards (not a security boundary: shards only share load). */
export const hash32 = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/**
 * True for the errors a Durable Object call raises when the object is unreachable or overloaded (they
 * carry `retryable` or `overloaded`): the app answers 503 for them rather than 500.
 */
export const isDurableObjectUnavailable = (error: unknown): boolean => {
  if (!(error instanceof Error)) return false
  const flags = error as { retryable?: unknown; overloaded?: unknown }
  return flags.retryable === true || flags.overloaded === true
}

/**
 * Builds the Durable Object store over the two namespace bindings (the runtime passes `env.RELAY_CHANNEL`
 * and `env.RELAY_COUNTER`).
 *
 * @example
 * const store = durableObjectStore({ channels: env.RELAY_CHANNEL, counters: env.RELAY_COUNTER, clock: systemClock })
 */
export const durableObjectStore = (options: DurableObjectStoreOptions): EphemeralStore => {
  const { clock, namePrefix = '', shards = DEFAULT_SHARDS } = options
  if (!Number.isInteger(shards) || shards < 1) throw new Error('shards must be a positive integer')
  const channel = (id: string): ChannelObjectApi => options.channels.getByName(channelObjectName(id, namePrefix))
  const shard = (index: number): CounterObjectApi => options.counters.getByName(`${namePrefix}shard:${index}`)
  const shardOf = (key: string): CounterObjectApi => shard(hash32(key) % shards)
  // Counter keys embed channel ids and addresses, and reservations are rows of a shard's storage: both
  // stored under the opaque name (see opaque-key.ts), and so is the channel object's own name.
  // The cap is split over as many shards as keep at least MIN_RESERVATIONS_PER_SHARD places each.
  // Which shard that is depends on the cap, so the channel object remembers it for the release.
  const reservationShard = (id: string, maxLive: number): { index: number; max: number } => {
    const used = Math.min(shards, Math.max(1, Math.floor(maxLive / MIN_RESERVATIONS_PER_SHARD)))
    return { index: hash32(id) % used, max: Math.ceil(maxLive / used) }
  }

  const channels: ChannelStore = {
    async create(record, maxLive): Promise<CreateOutcome> {
      const { index, max } = reservationShard(record.id, maxLive)
      const reserved = await shard(index).reserve(opaqueKey(record.id), record.expiresAtMs, clock.now(), max)
      if (reserved === 'capacity') return 'capacity'
      // On 'exists' the reservation under this id is the live channel's own place, whichever of the
      // racing creates made it: releasing it would leave that channel uncounted by the cap.
      return channel(record.id).create(record, index, clock.now())
    },
    get: (id) => channel(id).get(clock.now()),
    replaceIfMatch: (id, expectedRev, next) => channel(id).replaceIfMatch(expectedRev, next, clock.now()),
    async takeOnce(id) {
      const taken = await channel(id).takeOnce(clock.now())
      if (taken === null) return null
      await shard(taken.reservedIn).release(opaqueKey(id))
      return taken.record
    },
    async delete(id) {
      return (await channels.takeOnce(id)) !== null
    },
    async liveCount() {
      const now = clock.now()
      const counts = await Promise.all(Array.from({ length: shards }, (_, i) => shard(i).liveCount(now)))
      return counts.reduce((sum, n) => sum + n, 0)
    },
  }

  const counters: CounterStore = {
    increment: (key, ttlMs) => shardOf(opaqueKey(key)).increment(opaqueKey(key), ttlMs, clock.now()),
    read: (key) => shardOf(opaqueKey(key)).read(opaqueKey(key), clock.now()),
    async hitWindow(plainKey, windowIndex, ttlMs) {
      const key = opaqueKey(plainKey)
      // Keyed by the base key so a window and the one before it share a shard (one call).
      const { current, previous } = await shardOf(key).hitWindow(key, windowIndex, ttlMs, clock.now())
      return { current, previous }
    },
    async reserveWindow(plainKey, windowIndex, ttlMs, budget) {
      const key = opaqueKey(plainKey)
      // Same shard as hitWindow: the window pair of a key lives in one object, so this is one call.
      const { reserved, current, previous } = await shardOf(key).reserveWindow(key, windowIndex, ttlMs, { ...budget }, clock.now())
      return { reserved, current, previous }
    },
    releaseWindow: (key, windowIndex) => shardOf(opaqueKey(key)).releaseWindow(opaqueKey(key), windowIndex, clock.now()),
  }

  const kvShard = (key: string): CounterObjectApi => shardOf(`kv:${key}`)
  const expiresAt = (ttlMs: number): number => clock.now() + Math.max(1, Math.ceil(ttlMs))
  const kv: KvStore = {
    put: (key, value, ttlMs) => kvShard(key).kvPut(key, value, expiresAt(ttlMs)),
    get: (key) => kvShard(key).kvRead(key, clock.now(), false),
    replaceIfMatch: (key, expected, next, ttlMs) =>
      kvShard(key).kvReplaceIfMatch(key, expected, next, clock.now(), ttlMs === undefined ? null : expiresAt(ttlMs)),
    takeOnce: (key) => kvShard(key).kvRead(key, clock.now(), true),
  }

  return {
    kind: 'durable-object',
    channels,
    counters,
    kv,
    ping: () => shard(0).ping(),
    async close() {},
  }
}
