import type { AccountStore } from './account-store.ts'
import type { CredentialStore } from './credential-store.ts'
import type { DeviceStore } from './device-store.ts'
import type { SecurityStateStore } from './security-state-store.ts'
import type { TokenStore } from './token-store.ts'

/**
 * The durable side of storage. Each method of each sub-store is one atomic intent. Accounts,
 * credentials, devices, tokens: must survive restarts (SQLite, Redis with persistence, DO storage).
 * Adapters `src/adapters/durable/`, contract `test/integration/durable/`. Time-based decisions use
 * the adapter's Clock; timestamps inside records are the caller's.
 */
export interface DurableStore {
  readonly kind: 'memory' | 'sqlite' | 'redis' | 'durable-object'
  readonly accounts: AccountStore
  readonly credentials: CredentialStore
  readonly devices: DeviceStore
  readonly tokens: TokenStore
  readonly security: SecurityStateStore
  /** Deletes expired access tokens and families; returns how many (stores with native expiry: 0). */
  purgeExpired(): Promise<number>
  /** Resolves when the backing store answers; rejects otherwise (used by /readyz). */
  ping(): Promise<void>
  /** Releases what the adapter opened itself (never the client it was given). */
  close(): Promise<void>
}
