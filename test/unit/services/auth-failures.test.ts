import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { RelayError } from '../../../src/core/errors.ts'
import type { GuessOrigin } from '../../../src/core/policy/guess-limits.ts'
import { authFailures } from '../../../src/services/auth-failures.ts'
import { rateLimiter } from '../../../src/services/rate-limiter.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const rule = (limit: number) => ({ limit, windowMs: 60_000 })

const make = () => {
  const clock = fakeClock()
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  const failures = authFailures({
    limiter: rateLimiter(store.counters, clock),
    limits: { perAccount: rule(3), perAccountTrusted: rule(5), perAccountNetwork: rule(3), perClient: rule(5), perTrustedDevice: rule(2) },
  })
  let checks = 0
  const guess = (accountKey: string, clientKey: string, right = false, origin?: GuessOrigin) =>
    failures
      .attempt({ accountKey, clientKey, ...(origin === undefined ? {} : { origin }) }, async () => {
        checks++
        return right
      })
      .then(
        (ok) => (ok ? 'ok' : 'wrong'),
        (e: unknown) => (e instanceof RelayError ? `${e.code}:${e.retryAfterMs !== undefined && e.retryAfterMs > 0}` : 'other'),
      )
  return { clock, guess, checks: () => checks }
}

describe('authFailures', () => {
  it('refuses guesses once the account budget is used, without checking them, until the window slides', async () => {
    const { clock, guess, checks } = make()
    for (let i = 0; i < 3; i++) expect(await guess('alice', '192.0.2.1')).toBe('wrong')
    expect(await guess('alice', '192.0.2.1', true)).toBe('RATE_LIMITED:true')
    expect(checks()).toBe(3)
    expect(await guess('bob', '192.0.2.9')).toBe('wrong')
    clock.advance(120_000)
    expect(await guess('alice', '192.0.2.1', true)).toBe('ok')
  })

  it('gives the slots of a right guess back', async () => {
    const { guess } = make()
    for (let i = 0; i < 10; i++) expect(await guess('alice', '192.0.2.1', true)).toBe('ok')
    for (let i = 0; i < 3; i++) expect(await guess('alice', '192.0.2.1')).toBe('wrong')
  })

  it('limits a client across accounts', async () => {
    const { guess } = make()
    const outcomes: string[] = []
    for (let i = 0; i < 6; i++) outcomes.push(await guess(`user${i}`, '198.51.100.1'))
    expect(outcomes).toEqual(['wrong', 'wrong', 'wrong', 'wrong', 'wrong', 'RATE_LIMITED:true'])
    expect(await guess('fresh', '198.51.100.2')).toBe('wrong')
  })

  it('lets a trusted device and a known network in while untrusted clients used the account budget up', async () => {
    const { guess } = make()
    for (const net of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) expect(await guess('alice', net)).toBe('wrong')
    expect(await guess('alice', '203.0.113.4', true)).toBe('RATE_LIMITED:true')
    expect(await guess('alice', '192.0.2.1', true, { kind: 'known-network' })).toBe('ok')
    expect(await guess('alice', '203.0.113.1', true, { kind: 'trusted-device', key: 'd1' })).toBe('ok')
    // A trusted device has a small budget of its own.
    for (let i = 0; i < 2; i++) expect(await guess('alice', '192.0.2.1', false, { kind: 'trusted-device', key: 'd1' })).toBe('wrong')
    expect(await guess('alice', '192.0.2.1', true, { kind: 'trusted-device', key: 'd1' })).toBe('RATE_LIMITED:true')
    expect(await guess('alice', '192.0.2.1', true, { kind: 'trusted-device', key: 'd2' })).toBe('ok')
  })

  it('bounds trusted devices and known networks together by the trusted ceiling', async () => {
    const { guess, checks } = make()
    const outcomes: string[] = []
    for (let i = 0; i < 4; i++) {
      outcomes.push(await guess('alice', `192.0.2.${i}`, false, { kind: 'known-network' }))
      outcomes.push(await guess('alice', '192.0.2.9', false, { kind: 'trusted-device', key: `d${i}` }))
    }
    expect(outcomes.filter((o) => o === 'wrong')).toHaveLength(5)
    expect(checks()).toBe(5)
    // The untrusted ceiling is separate: the trusted side being spent does not refuse strangers.
    expect(await guess('alice', '203.0.113.1')).toBe('wrong')
  })
})
