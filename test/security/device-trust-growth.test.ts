/**
 * Finding 61 (SECURITY.md, docs/security/auth-limits.md): every password sign-in stored a new
 * `device_trust` token for its 90-day lifetime, and nothing counted them per account: one account
 * signing in over and over (and signing each device out) grew the ephemeral store by one entry per
 * sign-in. New tokens are now counted per account (`QRELAY_RATE_DEVICE_TRUST_PER_ACCOUNT`, 20 a day);
 * beyond, the sign-in goes on without one, and the renewal of a token the client sent back is never
 * refused (it replaces the old one).
 */
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../src/adapters/storage/memory.ts'
import type { EphemeralStore, KvStore } from '../../src/ports.ts'
import { call, viaApp, withUia, type Send } from '../helpers/account-client.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const START = Date.UTC(2026, 11, 7, 8, 0)

/** A memory store whose key-value side remembers every key ever put, to count the live ones later. */
const trackedStore = () => {
  const keys = new Set<string>()
  let kv: KvStore | undefined
  const make = (clock: ReturnType<typeof fakeClock>): EphemeralStore => {
    const store = memoryStore({ clock, sweepIntervalMs: 0 })
    const inner = store.kv
    kv = {
      ...inner,
      put: async (key, value, ttlMs) => {
        keys.add(key)
        return inner.put(key, value, ttlMs)
      },
      get: (key) => inner.get(key),
      replaceIfMatch: (key, expected, next, ttlMs) => inner.replaceIfMatch(key, expected, next, ttlMs),
      takeOnce: (key) => inner.takeOnce(key),
    }
    return { ...store, kv }
  }
  /** Live entries whose key starts with `prefix`. */
  const live = async (prefix: string): Promise<number> => {
    let n = 0
    for (const key of keys) if (key.startsWith(prefix) && (await kv!.get(key)) !== null) n++
    return n
  }
  return { make, live }
}

/** A password login of `username` (the two UIA rounds); the 200 body. */
const login = async (send: Send, username: string, extra: Record<string, unknown> = {}) => {
  const { final } = await withUia(send, 'POST', '/v1/login', { username, ...extra }, PASSWORD)
  expect(final.status, JSON.stringify(final.body)).toBe(200)
  return final.body
}

const createAccount = async (send: Send, username: string): Promise<string> => {
  const created = await call(send, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  return created.body.account_id as string
}

describe('finding 61: device_trust tokens are counted per account', () => {
  it('finding 61: one account signing in over and over is handed at most 20 new device_trust tokens a day; a renewal is never refused', async () => {
    const tracked = trackedStore()
    const t = makeApp({ env: { ...TEST_ENV }, clock: fakeClock(START), store: tracked.make })
    const attacker = viaApp(t.app, '203.0.113.7')
    await createAccount(attacker, 'mallory')
    const LOGINS = 150
    let first: unknown
    for (let i = 0; i < LOGINS; i++) {
      // He never sends the token back (it would rotate the old one away), and signs the device out at once.
      const body = await login(attacker, 'mallory')
      first ??= body.device_trust
      expect((await call(attacker, 'POST', '/v1/logout', {}, body.access_token as string)).status).toBe(200)
    }
    // Nothing of his is signed in any more, yet every token he was handed stays stored for 90 days:
    // one account (or one address, 300 logins a minute) grows the ephemeral store without a bound,
    // on Redis with noeviction until every write of every user is refused.
    const trustEntries = await tracked.live('devtrust:')
    expect(trustEntries, `${trustEntries} device_trust entries for one account with no device signed in`).toBe(20)
    // Over budget: a sign-in without a token gets none; one that sends its token back has it renewed.
    expect((await login(attacker, 'mallory')).device_trust).toBeUndefined()
    const renewedOver = await login(attacker, 'mallory', { device_trust: first })
    expect(typeof renewedOver.device_trust).toBe('string')
    expect(await tracked.live('devtrust:')).toBe(20)
    // A day later the account gets new ones again.
    t.clock.advance(2 * 86_400_000)
    const fresh = await login(attacker, 'mallory')
    expect(typeof fresh.device_trust).toBe('string')
    const renewed = await login(attacker, 'mallory', { device_trust: fresh.device_trust })
    expect(typeof renewed.device_trust).toBe('string')
    expect(renewed.device_trust).not.toBe(fresh.device_trust)
  }, 30_000)
})
