/**
 * An app on the memory store with a fake clock and seeded randomness, for tests through app.request().
 * The socket address comes from the `x-test-peer` header (default 192.0.2.1) so tests can play
 * several clients.
 */
import { memoryStore, type MemoryStore } from '../../src/adapters/storage/memory.ts'
import { silentLogger } from '../../src/adapters/platform/node.ts'
import { parseConfig, type Config } from '../../src/config.ts'
import { redactWith } from '../../src/core/crypto/secrets.ts'
import { createApp, type AppHost } from '../../src/http/app.ts'
import type { DurableStore, EphemeralStore, Logger, NetworkLocator, Random, SecurityEvents } from '../../src/ports.ts'
import { memoryDurableStore } from '../../src/adapters/durable/memory.ts'
import { memorySecurityEvents, type MemorySecurityEvents } from '../../src/adapters/events/memory.ts'
import { compose } from '../../src/runtime/compose.ts'
import type { AuthServices } from '../../src/services/auth-services.ts'
import type { AbuseGuard } from '../../src/services/abuse-guard.ts'
import type { SigningKeys } from '../../src/services/signing-keys.ts'
import { sealingKeyring, type SealingKeyring } from '../../src/core/crypto/sealed-secret.ts'
import { fakeClock, type FakeClock } from './fake-clock.ts'
import { seededRandom } from './seeded-random.ts'
import { checkResponses } from './openapi-check.ts'
import { COMMON_PASSWORDS } from '../../src/core/auth/common-passwords.ts'

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
  /** More of the host (e.g. a WebSocket transport); the socket address always comes from `x-test-peer`. */
  host?: Partial<AppHost>
  /** Randomness (default: seeded with 7); two apps sharing stores need different seeds. */
  random?: Random
  /** Security-event sinks besides the recorder `events` (e.g. a webhook outbox's), built on the app's clock. */
  sinks?: (clock: FakeClock) => SecurityEvents[]
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
  const store: EphemeralStore = options.store?.(clock) ?? (memoryStore({ clock, sweepIntervalMs: 0 }) as MemoryStore)
  const durable = options.durable?.(clock) ?? memoryDurableStore({ clock })
  const events = memorySecurityEvents()
  const keyring = options.keyring ?? testKeyring()
  const services = compose(config, {
    store,
    clock,
    random: options.random ?? seededRandom(7),
    logger: options.logger ?? silentLogger,
    redact: redactWith(new Uint8Array(32).fill(9)),
    // Off unless asked for, so tests do not trip it.
    abuseGuard: options.abuse === true,
    wakesAcrossRequests: true,
    ...(options.signingKeys === undefined ? {} : { signingKeys: options.signingKeys }),
    ...(options.locator === undefined ? {} : { locator: options.locator }),
    accounts: {
      durable,
      uiaKey: new Uint8Array(32).fill(5),
      keyring,
      commonPasswords: COMMON_PASSWORDS,
      securityEventSinks: [events, ...(options.sinks?.(clock) ?? [])],
      feedLimits: { recheckMs: 20 },
    },
  })
  // Every response a test sees is checked against the OpenAPI document (test/helpers/openapi-check.ts).
  const app = checkResponses(createApp(services, { ...options.host, getSocketAddress: (c) => c.req.header('x-test-peer') ?? '192.0.2.1' }))
  const auth = services.accounts?.auth as AuthServices
  const { abuse } = services
  return { app, clock, store, config, durable, events, auth, keyring, ...(abuse === undefined ? {} : { abuse }) }
}
