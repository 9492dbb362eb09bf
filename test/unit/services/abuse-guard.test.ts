import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { DEFAULT_ABUSE_PER_IP } from '../../../src/core/policy/abuse.ts'
import { parseCidr, type Cidr } from '../../../src/core/policy/network.ts'
import type { Logger } from '../../../src/ports.ts'
import { abuseGuard } from '../../../src/services/abuse-guard.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const HOUR = 3_600_000
const T = { ...DEFAULT_ABUSE_PER_IP, minCreatedForRatio: 5 }

const setup = (exempt?: { loopback: boolean; networks: readonly Cidr[] }) => {
  const clock = fakeClock(Date.UTC(2026, 5, 1, 12))
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  const warnings: { fields: Record<string, unknown>; message: string }[] = []
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (fields, message) => void warnings.push({ fields, message }),
    error: () => {},
    child: () => logger,
  }
  const guard = abuseGuard({
    counters: store.counters,
    kv: store.kv,
    clock,
    thresholds: T,
    logger,
    ...(exempt === undefined ? {} : { exempt }),
  })
  return { clock, guard, warnings }
}

describe('abuseGuard', () => {
  it('logs a block once at warn, with its reason and counts, and lifts it without re-striking the same counts', async () => {
    const { guard, warnings } = setup()
    for (let i = 0; i < 5; i++) await guard.record('203.0.113.1', 'channel_created')
    expect(await guard.deniedForMs('203.0.113.1')).toBe(10 * 60_000)
    expect(await guard.isDenied('203.0.113.1')).toBe(true)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.fields).toMatchObject({
      network: '203.0.113.1',
      reason: 'low_completion',
      strikes: 1,
      counts: { channelsCreated: 5 },
    })
    expect(await guard.lift('203.0.113.1')).toBe(10 * 60_000)
    expect(await guard.isDenied('203.0.113.1')).toBe(false)
    // New abuse after the lift still strikes.
    for (let i = 0; i < 5; i++) await guard.record('203.0.113.1', 'channel_created')
    expect(await guard.isDenied('203.0.113.1')).toBe(true)
  })

  it('finding 78: counts at most one network limit per customer toward an ASN, and every customer beyond', async () => {
    const { guard } = setup()
    // The ASN limit is ten times a network's (50 created): one IPv4 address, then the /64s of one /48, add 5 each.
    for (let i = 0; i < 60; i++) await guard.record('asn:64500', 'channel_created', undefined, '203.0.113.7')
    for (let i = 0; i < 60; i++) await guard.record('asn:64500', 'channel_created', undefined, `2001:db8:77:${i}::/64`)
    expect(await guard.isDenied('asn:64500')).toBe(false)
    for (let c = 0; c < 8; c++) for (let i = 0; i < 5; i++) await guard.record('asn:64500', 'channel_created', undefined, `198.51.100.${c}`)
    expect(await guard.isDenied('asn:64500')).toBe(true)
  })

  it('never blocks loopback by default, nor exempt networks, automatically or by report', async () => {
    const { guard } = setup({ loopback: true, networks: [parseCidr('192.0.2.0/24') as Cidr] })
    for (const source of ['127.0.0.1', '::1', '::/64', '192.0.2.9']) {
      for (let i = 0; i < 10; i++) await guard.record(source, 'channel_created')
      expect(await guard.denyForAccount(source, 'acc', HOUR, ['198.51.100.1'])).toEqual({ scope: 'none' })
      await guard.deny(source, HOUR)
      expect(await guard.isDenied(source, 'acc')).toBe(false)
    }
  })

  it('applies a "not me" deny to the reporting account, to everybody from the third account, and lifts all', async () => {
    const { guard, clock } = setup()
    const scopeOf = async (source: string, account: string) => (await guard.denyForAccount(source, account, HOUR, [`net-${account}`])).scope
    expect(await scopeOf('2001:db8:1:2::9', 'a')).toBe('account')
    expect(await guard.isDenied('2001:db8:1:2::77', 'a')).toBe(true)
    expect(await guard.isDenied('2001:db8:1:2::77', 'b')).toBe(false)
    expect(await scopeOf('2001:db8:1:2::9', 'a')).toBe('account')
    expect(await scopeOf('2001:db8:1:2::9', 'b')).toBe('account')
    expect(await scopeOf('2001:db8:1:2::9', 'c')).toBe('global')
    expect(await guard.isDenied('2001:db8:1:2::77')).toBe(true)
    expect(await guard.lift('2001:db8:1:2::/64')).toBe(HOUR)
    expect(await guard.isDenied('2001:db8:1:2::77', 'a')).toBe(false)
    // Reports expire: two stale ones do not make a third global.
    await scopeOf('198.51.100.3', 'a')
    await scopeOf('198.51.100.3', 'b')
    clock.advance(HOUR + 1)
    expect(await scopeOf('198.51.100.3', 'c')).toBe('account')
  })

  it('finding 42: counts a party given as onceFor once per source and window', async () => {
    const { guard, clock } = setup()
    for (let i = 0; i < 10; i++) await guard.record('203.0.113.5', 'declined_approval', 'acc-1')
    expect(await guard.isDenied('203.0.113.5')).toBe(false)
    for (const account of ['acc-2', 'acc-3', 'acc-4', 'acc-5']) await guard.record('203.0.113.5', 'declined_approval', account)
    expect(await guard.isDenied('203.0.113.5')).toBe(true)
    // The next window counts the same party again, once.
    clock.advance(T.windowMs)
    for (let i = 0; i < 3; i++) await guard.record('203.0.113.6', 'declined_approval', 'acc-1')
    expect(await guard.isDenied('203.0.113.6')).toBe(false)
  })

  it('counts best effort: a failing counter store neither fails the request nor goes unreported', async () => {
    const clock = fakeClock(Date.UTC(2026, 5, 1, 12))
    const store = memoryStore({ clock, sweepIntervalMs: 0 })
    const warnings: { fields: Record<string, unknown>; message: string }[] = []
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (fields, message) => void warnings.push({ fields, message }),
      error: () => {},
      child: () => logger,
    }
    const counters = { ...store.counters, increment: () => Promise.reject(new Error('store down')) }
    const guard = abuseGuard({ counters, kv: store.kv, clock, thresholds: T, logger })
    await expect(guard.record('203.0.113.9', 'channel_created')).resolves.toBeUndefined()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({
      message: 'abuse signal not counted',
      fields: { network: '203.0.113.9', signal: 'channel_created', err: { class: 'Error' } },
    })
    // The error's message (which could quote a connection string) is never logged.
    expect(JSON.stringify(warnings)).not.toContain('store down')
  })
})
