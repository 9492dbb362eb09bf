import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { RelayError } from '../../../src/core/errors.ts'
import { authFailures } from '../../../src/services/auth-failures.ts'
import { rateLimiter } from '../../../src/services/rate-limiter.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const make = () => {
  const clock = fakeClock()
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  const failures = authFailures({
    kv: store.kv,
    limiter: rateLimiter(store.counters, clock),
    clock,
    perAccount: { limit: 3, windowMs: 60_000 },
    perClient: { limit: 5, windowMs: 60_000 },
  })
  return { clock, failures }
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (e: unknown) => (e instanceof RelayError ? `${e.code}:${e.retryAfterMs !== undefined && e.retryAfterMs > 0}` : 'other'),
  )

describe('authFailures', () => {
  it('blocks an account once its failures pass the rule, and lifts the block after the retry hint', async () => {
    const { clock, failures } = make()
    const attempt = { accountKey: 'alice', clientKey: '192.0.2.1' }
    for (let i = 0; i < 3; i++) expect(await codeOf(failures.fail(attempt))).toBe('ok')
    expect(await codeOf(failures.fail(attempt))).toBe('RATE_LIMITED:true')
    expect(await codeOf(failures.check(attempt))).toBe('RATE_LIMITED:true')
    expect(await codeOf(failures.check({ accountKey: 'bob', clientKey: '192.0.2.9' }))).toBe('ok')
    clock.advance(120_000)
    expect(await codeOf(failures.check(attempt))).toBe('ok')
  })

  it('blocks a client across accounts once its failures pass the client rule', async () => {
    const { failures } = make()
    const outcomes: string[] = []
    for (let i = 0; i < 6; i++) outcomes.push(await codeOf(failures.fail({ accountKey: `user${i}`, clientKey: '198.51.100.1' })))
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'RATE_LIMITED:true'])
    expect(await codeOf(failures.check({ accountKey: 'fresh', clientKey: '198.51.100.1' }))).toBe('RATE_LIMITED:true')
    expect(await codeOf(failures.check({ accountKey: 'fresh', clientKey: '198.51.100.2' }))).toBe('ok')
  })

  it('never blocks on checks alone when nothing failed', async () => {
    const { failures } = make()
    for (let i = 0; i < 50; i++) expect(await codeOf(failures.check({ accountKey: 'alice', clientKey: 'c' }))).toBe('ok')
  })
})
