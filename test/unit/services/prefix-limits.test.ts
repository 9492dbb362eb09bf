import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { RelayError } from '../../../src/core/errors.ts'
import { prefixLimits } from '../../../src/services/prefix-limits.ts'
import { rateLimiter } from '../../../src/services/rate-limiter.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const RULE = { limit: 2, windowMs: 60_000 }
const START = Date.UTC(2026, 10, 23, 8, 0)

const setup = (shares = { ipv6Per56Factor: 2, ipv6Per48Factor: 3 }) => {
  const clock = fakeClock(START)
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  return { clock, prefixes: prefixLimits(rateLimiter(store.counters, clock), shares) }
}

const refusal = async (run: Promise<unknown>): Promise<RelayError> => {
  const error = await run.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(RelayError)
  return error as RelayError
}

describe('prefixLimits', () => {
  it('reserves nothing for an IPv4 client and runs its work as is', async () => {
    const { prefixes } = setup({ ipv6Per56Factor: 1, ipv6Per48Factor: 1 })
    expect(await prefixes.reserve('create', '192.0.2.7', RULE)).toEqual([])
    for (let i = 0; i < 10; i++)
      expect(
        await prefixes.within(
          'create',
          '192.0.2.7',
          RULE,
          async () => i,
          () => true,
        ),
      ).toBe(i)
  })

  it('refuses a /48 past its share with RATE_LIMITED and a retry hint, whatever /64 asks', async () => {
    const { prefixes, clock } = setup()
    // 4 per /56, 6 per /48: three /56s of two each fill the /48.
    for (const site of ['1', '2', '3']) {
      await prefixes.reserve('create', `2001:db8:ab00:${site}00::/64`, RULE)
      await prefixes.reserve('create', `2001:db8:ab00:${site}01::/64`, RULE)
    }
    const refused = await refusal(prefixes.reserve('create', '2001:db8:ab00:4400::/64', RULE))
    expect(refused.code).toBe('RATE_LIMITED')
    expect(refused.retryAfterMs).toBeGreaterThan(0)
    // Another /48 and another limit name have their own counters.
    expect(await prefixes.reserve('create', '2001:db8:cd00::/64', RULE)).toHaveLength(2)
    expect(await prefixes.reserve('register', '2001:db8:ab00:4400::/64', RULE)).toHaveLength(2)
    clock.advance(2 * RULE.windowMs)
    expect(await prefixes.reserve('create', '2001:db8:ab00:4400::/64', RULE)).toHaveLength(2)
  })

  it('a refused /56 holds no /48 slot, and work that throws or makes nothing hands its slots back', async () => {
    const { prefixes } = setup({ ipv6Per56Factor: 1, ipv6Per48Factor: 3 })
    const key = '2001:db8:ab00:100::/64'
    await prefixes.reserve('create', key, RULE)
    await prefixes.reserve('create', key, RULE)
    // The /56 is full: three refusals that must not take any of the /48's 6 slots.
    for (let i = 0; i < 3; i++) expect((await refusal(prefixes.reserve('create', key, RULE))).code).toBe('RATE_LIMITED')
    await expect(
      prefixes.within(
        'create',
        '2001:db8:ab00:200::/64',
        RULE,
        async () => Promise.reject(new Error('store down')),
        () => true,
      ),
    ).rejects.toThrow('store down')
    expect(
      await prefixes.within(
        'create',
        '2001:db8:ab00:200::/64',
        RULE,
        async () => 'capacity',
        (o) => o === 'ok',
      ),
    ).toBe('capacity')
    // The /48 had 2 taken: 4 left, over two /56s.
    for (const site of ['2', '2', '3', '3']) expect(await prefixes.reserve('create', `2001:db8:ab00:${site}00::/64`, RULE)).toHaveLength(2)
    expect((await refusal(prefixes.reserve('create', '2001:db8:ab00:500::/64', RULE))).code).toBe('RATE_LIMITED')
  })
})
