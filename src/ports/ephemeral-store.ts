import type { ChannelStore } from './channel-store.ts'
import type { CounterStore } from './counter-store.ts'
import type { InProcessStore } from './in-process-store.ts'
import type { KvStore } from './kv-store.ts'

/** The ephemeral side of storage: everything that may be lost on a restart of a memory store. */
export interface EphemeralStore {
  readonly kind: 'memory' | 'redis' | 'durable-object'
  readonly channels: ChannelStore
  readonly counters: CounterStore
  readonly kv: KvStore
  /** The same store answered synchronously, when it lives in this process (memory only). */
  readonly inProcess?: InProcessStore
  /** Resolves when the backing store answers; rejects otherwise (used by /readyz). */
  ping(): Promise<void>
  /** Releases connections and timers. */
  close(): Promise<void>
}
