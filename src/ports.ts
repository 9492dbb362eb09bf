/**
 * Ports: the interfaces core-using services need from the outside world. Each storage method is one
 * atomic intent (one Lua script in Redis, one synchronous step in memory, one Durable Object call).
 * Adapters live in `src/adapters/`; the conformance suite in `test/integration/storage/` states the contract.
 * One concept per file under `src/ports/`; this barrel re-exports every name.
 */
export type { Clock, Random } from './ports/clock-random.ts'
export type { Logger } from './ports/logger.ts'
export type { ReplaceOutcome } from './ports/replace-outcome.ts'
export type { CreateOutcome, ChannelStore } from './ports/channel-store.ts'
export type { ChannelLimit, Limited } from './ports/channel-limit.ts'
export type {
  WindowCounts,
  WindowBudget,
  WindowReservation,
  CounterStore,
} from './ports/counter-store.ts'
export type { KvStore } from './ports/kv-store.ts'
export type { EphemeralStore } from './ports/ephemeral-store.ts'
export type { ChannelPeek, CounterKey, InProcessStore } from './ports/in-process-store.ts'
export type { ChannelListener, ChannelEvents } from './ports/channel-events.ts'
export type { Scheduler } from './ports/scheduler.ts'
export type { MintOutcome, SessionMintOutcome } from './ports/mint-outcome.ts'
export type { AccountCreateOutcome, AccountPage, AccountStore, AccountUpdateEffects, AccountUpdateResult } from './ports/account-store.ts'
export type { CredentialStore } from './ports/credential-store.ts'
export type { CountedFeedAppend, DeviceSeen, DeviceStore, DevicesSignedOut, FeedAppend } from './ports/device-store.ts'
export type {
  RotateRequest,
  RotateOutcome,
  RotateResult,
  TokenStore,
} from './ports/token-store.ts'
export type {
  StoredSecurityEvent,
  SecurityFeedBounds,
  SecurityStateStore,
} from './ports/security-state-store.ts'
export type { DurableStore } from './ports/durable-store.ts'
export type { SecurityEvent, SecurityEvents } from './ports/security-events.ts'
export type { KeyStore } from './ports/key-store.ts'
export type { ProofKey, ProofKeys } from './ports/proof-keys.ts'
export type { JwsSignatures } from './ports/jws-signatures.ts'
export type { NetworkFacts, NetworkLocator } from './ports/network-locator.ts'
export type { WebhookMessage, WebhookOutboxCounts, WebhookOutbox } from './ports/webhook-outbox.ts'
export { COMPLETED_ID_MEMORY_MS } from './ports/webhook-outbox.ts'
