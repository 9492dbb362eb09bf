/**
 * Ports: the interfaces core-using services need from the outside world. Each storage method is one
 * atomic intent (one Lua script in Redis, one synchronous step in memory, one Durable Object call).
 * Adapters live in `src/adapters/`; the conformance suite in `test/integration/storage/` states the contract.
 */
import type { ChannelRecord } from './core/rendezvous/channel.ts'
import type { SigningKeySet } from './core/crypto/signing-key-set.ts'
import type { ChannelEvent, ChannelSignal } from './core/relay/channel-event.ts'
import type { GeoPoint } from './core/policy/proximity.ts'
import type {
  AccessTokenRecord,
  AccountRecord,
  DeviceRecord,
  RefreshFamilyRecord,
} from './core/accounts/records.ts'

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

/**
 * The admission test of {@link CounterStore.reserveWindow}: one more hit is admitted while
 * `previous × previousWeight + (current + 1) × currentWeight ≤ capacity` (integers; `windowBudget`
 * in `core/policy/rate-limit.ts` computes them from a rule and the time).
 */
export interface WindowBudget {
  previousWeight: number
  currentWeight: number
  capacity: number
}

/** Outcome of {@link CounterStore.reserveWindow}: whether a slot was taken, and the counts after it. */
export interface WindowReservation extends WindowCounts {
  reserved: boolean
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
  /**
   * Reserves a slot: in one atomic step, adds one to window `windowIndex` of `key` only if `budget`
   * admits it (a refused call counts nothing). Of many concurrent callers, exactly as many as the
   * budget admits get `reserved: true`. Same keys and TTL rule as {@link hitWindow}.
   */
  reserveWindow(key: string, windowIndex: number, ttlMs: number, budget: WindowBudget): Promise<WindowReservation>
  /** Gives back one slot of window `windowIndex` of `key` (never below 0; nothing when expired or absent). */
  releaseWindow(key: string, windowIndex: number): Promise<void>
}

/**
 * Small short-lived JSON values (UIA sessions, lockout marks). A value past its TTL is gone for every
 * method. `replaceIfMatch` compares the whole stored text, so it is a compare-and-swap on the value.
 */
export interface KvStore {
  /** Stores `value` under `key` for `ttlMs`, replacing whatever was there. */
  put(key: string, value: string, ttlMs: number): Promise<void>
  /** The live value, or null. */
  get(key: string): Promise<string | null>
  /** Stores `next` (keeping the expiry) only if the stored value still equals `expected`. */
  replaceIfMatch(key: string, expected: string, next: string): Promise<ReplaceOutcome>
  /** Atomically reads and deletes: of many concurrent callers, at most one gets the value. */
  takeOnce(key: string): Promise<string | null>
}

/** The ephemeral side of storage: everything that may be lost on a restart of a memory store. */
export interface EphemeralStore {
  readonly kind: 'memory' | 'redis' | 'durable-object'
  readonly channels: ChannelStore
  readonly counters: CounterStore
  readonly kv: KvStore
  /** Resolves when the backing store answers; rejects otherwise (used by /readyz). */
  ping(): Promise<void>
  /** Releases connections and timers. */
  close(): Promise<void>
}

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
  /** Listens to channel `id`; resolves once subscribed, with the function that stops listening. */
  subscribe(id: string, listener: ChannelListener): Promise<() => Promise<void>>
  /** Drops every subscription and releases what the adapter opened itself. */
  close(): Promise<void>
}

/** Runs a task later (the WebSocket hello, idle and expiry timers). Only `src/runtime/*` builds the real one. */
export interface Scheduler {
  /** Calls `task` once after `delayMs`; the returned function cancels it. */
  schedule(delayMs: number, task: () => void): () => void
}

// ─── Durable storage: accounts, credentials, devices, tokens: must survive restarts (SQLite, Redis with
// persistence, DO storage). Adapters `src/adapters/durable/`, contract `test/integration/durable/`.
// Time-based decisions use the adapter's Clock; timestamps inside records are the caller's.

/** Outcome of {@link AccountStore.create}: `exists` when the id or the username is taken. */
export type AccountCreateOutcome = 'ok' | 'exists'

/**
 * Outcome of a write that gives a device credentials. `denied` when, at that instant, the account is
 * missing, disabled or locked, or the device (or family) is gone: the check and the write are one step,
 * so a disable or revoke that lands first always wins.
 */
export type MintOutcome = 'ok' | 'exists' | 'denied'

/** Accounts. Usernames are unique under `usernameKey` (case-insensitive). Accounts are never deleted. */
export interface AccountStore {
  /** Atomically inserts a new account unless its id or username (any case) exists. */
  create(account: AccountRecord): Promise<AccountCreateOutcome>
  /** The account, or null. */
  get(id: string): Promise<AccountRecord | null>
  /** The account whose username equals `username` under `usernameKey`, or null. */
  findByUsername(username: string): Promise<AccountRecord | null>
  /**
   * Compare-and-swap: stores `next` only if the stored `version` equals `expectedVersion`. `next` comes
   * from `reviseAccount`; changing `id` or `username` is a bug and throws.
   */
  update(id: string, expectedVersion: number, next: AccountRecord): Promise<ReplaceOutcome>
}

/** Second factors whose use must be atomic (MSC1997). Codes arrive hashed. */
export interface CredentialStore {
  /**
   * The TOTP replay guard: atomically records `step` as used and returns true only if it is greater
   * than every step used before for this account (false for an unknown account).
   */
  useTotpStep(accountId: string, step: number): Promise<boolean>
  /** Atomically replaces the whole set: every earlier code stops working. False for an unknown account. */
  replaceRecoveryCodes(accountId: string, codeHashes: readonly string[]): Promise<boolean>
  /** Atomically removes the code and returns true; of many concurrent callers at most one gets true. */
  consumeRecoveryCode(accountId: string, codeHash: string): Promise<boolean>
  /** How many unused recovery codes are left. */
  countRecoveryCodes(accountId: string): Promise<number>
}

/** Where and when a device was last seen (see {@link DeviceStore.touch}). */
export interface DeviceSeen {
  atMs: number
  network?: string
}

/** Devices of an account. Every method is scoped by account: a device id alone finds nothing. */
export interface DeviceStore {
  /** Atomically inserts the device if its account is usable at the store's now (see {@link MintOutcome}). */
  create(device: DeviceRecord): Promise<MintOutcome>
  /** The device, or null (also when it belongs to another account). */
  get(accountId: string, deviceId: string): Promise<DeviceRecord | null>
  /** The account's devices, oldest first (ties by id). */
  listByAccount(accountId: string): Promise<DeviceRecord[]>
  /** Sets the display name; false when there is no such device. */
  rename(accountId: string, deviceId: string, displayName: string): Promise<boolean>
  /** Records a sighting if it is newer than the stored one (concurrent touches never go back); false when missing. */
  touch(accountId: string, deviceId: string, seen: DeviceSeen): Promise<boolean>
  /**
   * Signs the device out, in one step: deletes the device and its access tokens and revokes its refresh
   * families. False when there was no such device.
   */
  revoke(accountId: string, deviceId: string): Promise<boolean>
  /**
   * {@link revoke} for every device of the account except `keepDeviceId` (null: all), in one step:
   * password change with `logout_devices` (MSC2457), account disable. Returns how many were revoked.
   */
  revokeAllExcept(accountId: string, keepDeviceId: string | null): Promise<number>
}

/** Input of {@link TokenStore.rotateRefresh}. */
export interface RotateRequest {
  familyId: string
  /** Hash of the secret part of the presented refresh token. */
  presentedHash: string
  /** Hash of the secret of the token that replaces it. */
  nextHash: string
  /** How long after a rotation the rotated-out token counts as a concurrent duplicate (0: never). */
  graceMs: number
}

/**
 * Outcome of {@link TokenStore.rotateRefresh} (decided by `judgeRefresh`):
 * - `rotated`: the presented token was current; `nextHash` is current now.
 * - `raced`: the token was rotated out less than `graceMs` ago by a concurrent request; nothing changes,
 *   nothing is revoked (the caller refuses this request; the winner's response carries the new token).
 * - `reused`: an earlier token was replayed; the family and its access tokens are now revoked.
 * - `revoked`: the family was already revoked. `denied`: the account is unusable or the device gone.
 * - `missing`: no such live family, or a token that never belonged to it (nothing changes).
 */
export type RotateOutcome = 'rotated' | 'raced' | 'reused' | 'revoked' | 'denied' | 'missing'

/** Result of {@link TokenStore.rotateRefresh}: the family as the intent left it (null when `missing`). */
export interface RotateResult {
  outcome: RotateOutcome
  family: RefreshFamilyRecord | null
}

/** Access tokens (minutes long, revocable at once) and rotating refresh-token families. */
export interface TokenStore {
  /**
   * Atomically stores an access token if its account is usable, its device exists and its family (if
   * any) is live and belongs to that device.
   */
  putAccess(token: AccessTokenRecord): Promise<MintOutcome>
  /** The token, or null when unknown, revoked or expired (exactly at `expiresAtMs`). */
  getAccess(id: string): Promise<AccessTokenRecord | null>
  /** Deletes one access token (RFC 7009); true when a live one was there. */
  revokeAccess(id: string): Promise<boolean>
  /** Atomically stores a new family if its account is usable and its device exists. */
  createRefreshFamily(family: RefreshFamilyRecord): Promise<MintOutcome>
  /** The family, revoked or not, or null when unknown or expired. */
  getRefreshFamily(familyId: string): Promise<RefreshFamilyRecord | null>
  /** Judges and applies one refresh attempt in one atomic step (see {@link RotateOutcome}). */
  rotateRefresh(request: RotateRequest): Promise<RotateResult>
  /** Revokes a family and the access tokens minted from it (RFC 7009); true when it was live. */
  revokeRefreshFamily(familyId: string): Promise<boolean>
}

/** One event of an account's security feed as stored: a {@link SecurityEvent} with its cursor. */
export interface StoredSecurityEvent extends SecurityEvent {
  /** Cursor: strictly increasing per account (`max(last id + 1, now)`), so `since` never skips one. */
  id: number
}

/** How an account's feed is bounded: the newest `maxEvents` events, each kept `retentionMs`. */
export interface SecurityFeedBounds {
  maxEvents: number
  retentionMs: number
}

/**
 * Security state of an account that must survive a restart: when the user last proved a credential
 * on each device (the trusted-approver rule), and the account's security-event feed (`GET /v1/events`).
 * Both belong to the account: nothing is written for an unknown account, and a device's mark goes
 * with the device.
 */
export interface SecurityStateStore {
  /** Records a proof on the device at `atMs` unless a later one is stored; false when there is no such device. */
  markAuthenticated(accountId: string, deviceId: string, atMs: number): Promise<boolean>
  /** The device's latest mark, or null (none, or no such device). */
  lastAuthenticated(accountId: string, deviceId: string): Promise<number | null>
  /**
   * Atomically appends `event` with the next cursor (`max(last + 1, store's now)`), drops the events
   * older than `retentionMs` and all but the newest `maxEvents`. Null (nothing written) for an unknown account.
   */
  appendEvent(accountId: string, event: SecurityEvent, bounds: SecurityFeedBounds): Promise<StoredSecurityEvent | null>
  /** Unexpired events with `id > since`, oldest first, at most `limit`. */
  readEvents(accountId: string, since: number, limit: number): Promise<StoredSecurityEvent[]>
}

/** The durable side of storage. Each method of each sub-store is one atomic intent. */
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

/** A security-relevant event of an account, for its devices (and later webhooks). Never holds secrets. */
export interface SecurityEvent {
  type:
    | 'recovery_code_used'
    | 'password_changed'
    | 'totp_enabled'
    | 'totp_disabled'
    | 'recovery_codes_regenerated'
    /** A new device signed in by QR (`deviceId` is the new device; details name the approver). */
    | 'device_signed_in'
    /** A device was reported "not me" and signed out (`deviceId` is the reported device). */
    | 'device_not_me'
  atMs: number
  /** The device that acted, when there was one. */
  deviceId?: string
  /** Event-specific public facts (e.g. how many recovery codes are left). */
  details?: Record<string, string | number | boolean>
}

/** Where security events go. Delivery (events endpoint, webhooks) plugs in behind it. Must not throw. */
export interface SecurityEvents {
  emit(accountId: string, event: SecurityEvent): Promise<void>
}

/** Persistence of the channel-ticket signing keys ({@link SigningKeySet}); never prints key material. */
export interface KeyStore {
  readonly kind: 'memory' | 'file' | 'config' | 'durable-object'
  /** The stored set, or null when none was saved yet. */
  load(): Promise<SigningKeySet | null>
  /**
   * Stores `set` unless a set is already stored, atomically; returns the stored set (the caller's, or
   * the one that was there first: two processes starting together end up with the same keys).
   */
  saveIfAbsent(set: SigningKeySet): Promise<SigningKeySet>
  /** Replaces the stored set atomically (readers see the old set or the new one, never a mix). */
  save(set: SigningKeySet): Promise<void>
}

/** What is known about a client address beyond the address itself. Everything is optional. */
export interface NetworkFacts {
  /** Autonomous system number. */
  asn?: number
  /** Approximate location (city level at best). */
  geo?: GeoPoint
  /** ISO 3166-1 alpha-2 country code. */
  country?: string
}

/**
 * Looks up an address's ASN and location for the proximity policy: on Node optional offline mmdb
 * files, on Workers `request.cf`. Must not throw: unknown facts are simply absent.
 */
export interface NetworkLocator {
  locate(ip: string, request: Request): NetworkFacts | Promise<NetworkFacts>
}

/** A message of the {@link WebhookOutbox}: one JSON body for the operator's webhook URL. */
export interface WebhookMessage {
  /** Unique; sent as `webhook-id`, the same on every attempt, so receivers can deduplicate. */
  id: string
  /** The JSON body exactly as it is signed and sent. Never holds secrets. */
  body: string
  createdAtMs: number
  /**
   * Messages of one key (the account id) go out one at a time, oldest `(createdAtMs, id)` first:
   * {@link WebhookOutbox.claimDue} skips a message while an older live (not dead) one of its key
   * exists, leased or not. Absent: no order.
   */
  orderKey?: string
  /** When the message is next due (while leased: when the lease ends). */
  nextAttemptAtMs: number
  /** Attempts started so far; {@link WebhookOutbox.claimDue} adds one. Also the lease's fencing token. */
  attempts: number
  /** Why the last attempt failed (status or error kind; never a secret). */
  lastError?: string
}

/** How many messages an outbox holds (for /readyz-like introspection). */
export interface WebhookOutboxCounts {
  /** Waiting or leased: not delivered yet, not dead. */
  pending: number
  /** Given up after the last attempt; kept for inspection. */
  dead: number
}

/**
 * Durable outbox of operator webhooks (at-least-once delivery that survives restarts). A message is
 * due when `nextAttemptAtMs <= now`; claiming leases it by moving `nextAttemptAtMs` to the lease's
 * end, so two processes never hold the same message at once, and a crashed holder's lease simply
 * runs out. `reschedule` and `deadLetter` are fenced by `attempts`: a holder whose lease ran out and
 * was re-claimed by another changes nothing. Contract: `test/integration/durable/webhook-outbox-suite.ts`.
 */
export interface WebhookOutbox {
  /** Stores a new message (due at its `nextAttemptAtMs`); false when its id exists already. */
  enqueue(message: Omit<WebhookMessage, 'attempts' | 'lastError'>): Promise<boolean>
  /**
   * Atomically leases up to `limit` due messages, oldest due first, for `leaseMs`; each comes back with
   * `attempts + 1`. Never one with an older live message of the same `orderKey` (head of line).
   */
  claimDue(nowMs: number, limit: number, leaseMs: number): Promise<WebhookMessage[]>
  /** Removes a delivered message (whoever holds it); true when it was there. */
  complete(id: string): Promise<boolean>
  /** Makes the message due again at `nextAttemptAtMs`, if `attempts` still matches; true when it did. */
  reschedule(id: string, attempts: number, nextAttemptAtMs: number, lastError: string): Promise<boolean>
  /** Gives the message up (kept, counted, never claimed again), if `attempts` still matches. */
  deadLetter(id: string, attempts: number, lastError: string): Promise<boolean>
  /** Dead messages, oldest first, for inspection. */
  listDead(limit: number): Promise<WebhookMessage[]>
  counts(): Promise<WebhookOutboxCounts>
}
