import { describe, expect, it } from 'vitest'
import { memoryDurableStore } from '../../../src/adapters/durable/memory.ts'
import { memorySecurityEvents } from '../../../src/adapters/events/memory.ts'
import { memoryKeyStore } from '../../../src/adapters/keys/keystore.ts'
import { silentLogger } from '../../../src/adapters/platform/node.ts'
import { memoryChannelEvents } from '../../../src/adapters/pubsub/memory.ts'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { parseConfig } from '../../../src/config.ts'
import type { Scheduler } from '../../../src/ports.ts'
import { compose, type ComposePorts } from '../../../src/runtime/compose.ts'
import { openSigningKeys } from '../../../src/services/signing-keys.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { testKeyring } from '../../helpers/make-app.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'
import { COMMON_PASSWORDS } from '../../../src/core/auth/common-passwords.ts'

const scheduler: Scheduler = { schedule: () => () => {} }

const basePorts = (): ComposePorts & { clock: ReturnType<typeof fakeClock> } => {
  const clock = fakeClock()
  return {
    store: memoryStore({ clock, sweepIntervalMs: 0 }),
    clock,
    random: seededRandom(1),
    logger: silentLogger,
    redact: (v) => `h(${v})`,
  }
}

describe('compose', () => {
  it('without a durable store builds the rendezvous side only', () => {
    const services = compose(parseConfig({}), basePorts())
    expect(services.rendezvous).toBeDefined()
    expect(services.accounts).toBeUndefined()
    expect(services.relay).toBeUndefined()
    expect(services.tickets).toBeUndefined()
    expect(services.readiness.kind).toBe('memory')
  })

  it('builds the relay only given channel events and timers', () => {
    const ports = basePorts()
    expect(compose(parseConfig({}), { ...ports, channelEvents: memoryChannelEvents() }).relay).toBeUndefined()
    expect(compose(parseConfig({}), { ...ports, channelEvents: memoryChannelEvents(), scheduler }).relay).toBeDefined()
  })

  it('builds the abuse guard per QRELAY_ABUSE_ENABLED unless the runtime turns it off', () => {
    const ports = basePorts()
    expect(compose(parseConfig({}), ports).abuse).toBeDefined()
    expect(compose(parseConfig({}), { ...ports, abuseGuard: false }).abuse).toBeUndefined()
    expect(compose(parseConfig({ QRELAY_ABUSE_ENABLED: 'false' }), ports).abuse).toBeUndefined()
  })

  it('with a durable store builds the account side, sharing the limiter, and fans security events out to the sinks', async () => {
    const ports = basePorts()
    const sink = memorySecurityEvents()
    const durable = memoryDurableStore({ clock: ports.clock })
    const services = compose(parseConfig({ QRELAY_INTROSPECTION_CLIENTS: 'rs1:the-secret-of-resource-server-number-one' }), {
      ...ports,
      accounts: {
        durable,
        uiaKey: new Uint8Array(32).fill(5),
        keyring: testKeyring(),
        commonPasswords: COMMON_PASSWORDS,
        securityEventSinks: [sink],
      },
    })
    const accounts = services.accounts
    expect(accounts).toBeDefined()
    expect(accounts?.auth.limiter).toBe(services.limiter)
    expect(accounts?.introspectionClients.get('rs1')).not.toBe('the-secret-of-resource-server-number-one')
    expect(accounts?.dpop.currentNonce()).toBeUndefined()
    await accounts?.auth.events.emit('acc', { type: 'password_changed', atMs: ports.clock.now() })
    expect(sink.list('acc').length).toBe(1)
    expect(accounts?.totpQrSvg('otpauth://totp/x?secret=AAAA')).toMatch(/^<svg/)
  })

  it('turns DPoP nonces on with QRELAY_DPOP_NONCE, and builds channel tickets given signing keys', async () => {
    const ports = basePorts()
    const signingKeys = await openSigningKeys({
      store: memoryKeyStore(),
      clock: ports.clock,
      random: ports.random,
      retiredKeyTtlMs: 60_000,
    })
    const services = compose(parseConfig({ QRELAY_DPOP_NONCE: 'true' }), {
      ...ports,
      signingKeys,
      accounts: {
        durable: memoryDurableStore({ clock: ports.clock }),
        uiaKey: new Uint8Array(32).fill(5),
        keyring: testKeyring(),
        commonPasswords: COMMON_PASSWORDS,
      },
    })
    expect(services.accounts?.dpop.currentNonce()).toMatch(/\S/)
    expect(services.tickets?.publicJwks()).toEqual(signingKeys.publicJwks())
  })

  it('times with the clock it was given', () => {
    const ports = basePorts()
    const elapsed = compose(parseConfig({}), ports).stopwatch()
    ports.clock.advance(42)
    expect(elapsed()).toBe(42)
  })
})
