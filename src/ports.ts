/**
 * Ports: the interfaces core-using services need from the outside world. Each storage method is one
 * atomic intent (one Lua script in Redis, one synchronous step in memory, one Durable Object call).
 * Adapters live in `src/adapters/`; the conformance suite in `test/integration/storage/` states the contract.
 */
import type { ChannelRecord } from './core/rendezvous/channel.ts'

/** Wall-clock milliseconds since the epoch. Only `src/runtime/*` builds the real one. */
export interface Clock {
  now(): number
}

/** A source of cryptographically strong random bytes. Only `src/runtime/*` builds the real one. */
export interface Random {
  bytes(length: number): Uint8Array
}

/** Structured logger. Fields must never hold bearer values: log {@link Redactor} output instead. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger
}

/** Outcome of {@link ChannelStore.create}. `capacity` means the live-channel cap is reached. */
export type CreateOutcome = 'ok' | 'exists' | 'capacity'

/** Outcome of {@link ChannelStore.replaceIfMatch}. */
export type ReplaceOutcome = 'ok' | 'mismatch' | 'missing'

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

/** Counts of a sliding-window rate limit after one hit: this window's count and the previous one's. */
export interface WindowCounts {
  current: number
  previous: number
}

/** Ephemeral counters: abuse signals and rate-limit windows. */
export interface CounterStore {
  /** Adds one and returns the new value; the TTL is set when the counter is created, never extended. */
  increment(key: string, ttlMs: number): Promise<number>
  /** Reads a counter (0 when absent or expired). */
  read(key: string): Promise<number>
  /**
   * Adds one to window `windowIndex` of `key` and returns it with window `windowIndex - 1`.
   * Windows live for `ttlMs` after creation (two window lengths suffice).
   */
  hitWindow(key: string, windowIndex: number, ttlMs: number): Promise<WindowCounts>
}

/** The ephemeral side of storage: everything that may be lost on a restart of a memory store. */
export interface EphemeralStore {
  readonly kind: 'memory' | 'redis' | 'durable-object'
  readonly channels: ChannelStore
  readonly counters: CounterStore
  /** Resolves when the backing store answers; rejects otherwise (used by /readyz). */
  ping(): Promise<void>
  /** Releases connections and timers. */
  close(): Promise<void>
}
