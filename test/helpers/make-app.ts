/**
 * An app on the memory store with a fake clock and seeded randomness, for tests through app.request().
 * The socket address comes from the `x-test-peer` header (default 192.0.2.1) so tests can play
 * several clients.
 */
import { memoryStore, type MemoryStore } from '../../src/adapters/storage/memory.ts'
import { silentLogger } from '../../src/adapters/platform/node.ts'
import { parseConfig, type Config } from '../../src/config.ts'
import { redactWith } from '../../src/core/crypto/secrets.ts'
import { createApp } from '../../src/http/app.ts'
import type { DurableStore, EphemeralStore, Logger, NetworkLocator } from '../../src/ports.ts'
import { memoryDurableStore } from '../../src/adapters/durable/memory.ts'
import { memorySecurityEvents, type MemorySecurityEvents } from '../../src/adapters/events/memory.ts'
import { authServices, type AuthServices } from '../../src/services/auth-services.ts'
import { rateLimiter } from '../../src/services/rate-limiter.ts'
import { rendezvousService } from '../../src/services/rendezvous.ts'
import { abuseGuardFor, type AbuseGuard } from '../../src/services/abuse-guard.ts'
import { accountEvents, fanOutSecurityEvents } from '../../src/services/account-events.ts'
import type { SigningKeys } from '../../src/services/signing-keys.ts'
import { sealingKeyring, type SealingKeyring } from '../../src/core/crypto/sealed-secret.ts'
import { fakeClock, type FakeClock } from './fake-clock.ts'
import { seededRandom } from './seeded-random.ts'

export interface TestApp {
  /** The abuse guard, when `abuse: true`. */
  abuse?: AbuseGuard
  app: ReturnType<typeof createApp>
  clock: FakeClock
  store: EphemeralStore
  config: Config
  /** The accounts side: durable store, security events and services. */
  durable: DurableStore
  events: MemorySecurityEvents
  auth: AuthServices
  /** The keyring sealing second-factor secrets. */
  keyring: SealingKeyring
}

export interface MakeAppOptions {
  /** Channel-ticket signing keys (e.g. `await openSigningKeys({ store: memoryKeyStore(), … })`). */
  signingKeys?: SigningKeys
  env?: Record<string, string>
  store?: (clock: FakeClock) => EphemeralStore
  /** The durable store (default: memory). */
  durable?: (clock: FakeClock) => DurableStore
  logger?: Logger
  clock?: FakeClock
  /** ASN and location of client addresses (proximity). */
  locator?: NetworkLocator
  /** Wire the abuse guard (per the QRELAY_ABUSE_* settings); off by default so tests do not trip it. */
  abuse?: boolean
  /** The keyring sealing second-factor secrets (default: one fixed test key, id `test`). */
  keyring?: SealingKeyring
}

/** The default test keyring: one key of 32 bytes 0x03, id `test`. */
export const testKeyring = (): SealingKeyring => {
  const ring = sealingKeyring([{ id: 'test', key: new Uint8Array(32).fill(3) }])
  if (!ring.ok) throw new Error('test keyring')
  return ring.value
}

export const makeApp = (options: MakeAppOptions = {}): TestApp => {
  const config = parseConfig({ QRELAY_PUBLIC_BASE_URL: 'https://relay.example', ...options.env })
  const clock = options.clock ?? fakeClock()
  const random = seededRandom(7)
  const store: EphemeralStore = options.store?.(clock) ?? (memoryStore({ clock, sweepIntervalMs: 0 }) as MemoryStore)
  const limiter = rateLimiter(store.counters, clock)
  const abuse =
    options.abuse === true
      ? abuseGuardFor(config.abuse, {
          counters: store.counters,
          kv: store.kv,
          clock,
          trustedNetworks: config.policy.trustedNetworks,
          ...(options.logger === undefined ? {} : { logger: options.logger }),
        })
      : undefined
  const rendezvous = rendezvousService({
    store,
    limiter,
    clock,
    random,
    limits: config.rendezvous,
    rates: config.rateLimit,
    deniedNetworks: config.policy.deniedNetworks,
    ...(abuse === undefined ? {} : { abuse }),
  })
  const durable = options.durable?.(clock) ?? memoryDurableStore({ clock })
  const events = memorySecurityEvents()
  const feed = accountEvents({ security: durable.security, limits: { recheckMs: 20 } })
  const uiaKey = new Uint8Array(32).fill(5)
  const keyring = options.keyring ?? testKeyring()
  const auth = authServices({ auth: config.auth, store, durable, events: fanOutSecurityEvents(events, feed), clock, random, uiaKey, keyring })
  const app = createApp({
    config,
    store,
    rendezvous,
    logger: options.logger ?? silentLogger,
    clock,
    random,
    redact: redactWith(new Uint8Array(32).fill(9)),
    getSocketAddress: (c) => c.req.header('x-test-peer') ?? '192.0.2.1',
    ...(options.signingKeys === undefined ? {} : { signingKeys: options.signingKeys }),
    ...(options.locator === undefined ? {} : { locator: options.locator }),
    ...(abuse === undefined ? {} : { abuse }),
    accountEvents: feed,
    auth,
  })
  return { app, clock, store, config, durable, events, auth, keyring, ...(abuse === undefined ? {} : { abuse }) }
}
