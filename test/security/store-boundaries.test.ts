/**
 * The same requests, the same security outcome whatever the store (docs/security/channels.md,
 * findings 53 and 55): the memory store's counter cap evicts only the kind of counter a flood makes,
 * and a DPoP proof's replay mark outlives the last instant the proof is accepted.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../src/adapters/storage/memory.ts'
import { dpopProofs } from '../../src/services/dpop-proofs.ts'
import { call, viaApp, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { BASE, bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const START = Date.UTC(2026, 10, 23, 8, 0)
const OWNER_NET = '192.0.2.1'
const ATTACKER_NET = '203.0.113.9'

const startLogin = async (send: Send, username: string): Promise<string> => {
  const first = await call(send, 'POST', '/v1/login', { username })
  expect(first.status).toBe(401)
  return first.body.session as string
}
const passwordRound = (send: Send, username: string, session: string, password: string) =>
  call(send, 'POST', '/v1/login', { username, auth: { type: 'm.login.password', session, password } })
const guess = async (send: Send, username: string, password: string) =>
  passwordRound(send, username, await startLogin(send, username), password)

describe('counters at their bounds', () => {
  it("finding 53: a flood of the attacker's own DPoP proofs past the memory store's counter cap leaves the victim's spent guess budget spent", async () => {
    // The memory store holds at most `maxCounters` counters (QRELAY_MEMORY_MAX_COUNTERS, default
    // 1 000 000); before finding 53 it evicted the oldest live ones of any kind beyond. A cap of 1 000
    // keeps the flood short here. Redis and the Durable Objects never evict.
    const t = makeApp({
      env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown' },
      clock: fakeClock(START),
      store: (clock) => memoryStore({ clock, sweepIntervalMs: 0, maxCounters: 1_000 }),
    })
    const owner = viaApp(t.app, OWNER_NET)
    const attacker = viaApp(t.app, ATTACKER_NET)
    expect((await call(owner, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    // The attacker's own account, signed in on a DPoP-bound device of their own (a QR login they approve).
    expect((await call(attacker, 'POST', '/v1/admin/users', { username: 'mallory', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const phone = await call(attacker, 'POST', '/v1/login', { username: 'mallory' })
    const signedIn = await passwordRound(attacker, 'mallory', phone.body.session as string, PASSWORD)
    expect(signedIn.status).toBe(200)
    const holder = await dpopHolder()
    const binding = bindingOf('M')
    const { codes } = await requestGrant(attacker, holder, t.clock.now(), { channel_binding: binding })
    const body = { decision: 'approve' as const, channel_binding: binding, dpop_jkt: holder.jkt }
    let decided = await decide(attacker, signedIn.body.access_token as string, codes.user_code, body)
    if (decided.status === 401) {
      decided = await decide(attacker, signedIn.body.access_token as string, codes.user_code, {
        ...body,
        auth: { type: 'm.login.password', session: decided.body.session, password: PASSWORD },
      })
    }
    expect(decided.status, JSON.stringify(decided.body)).toBe(200)
    const minted = await pollToken(attacker, holder, t.clock.now(), codes.device_code)
    expect(minted.status).toBe(200)
    const bound = minted.body.access_token as string

    // The attacker spends alice's whole guess budget: the next guess is refused unchecked.
    const limit = t.config.auth.failuresPerAccount.limit
    for (let i = 0; i < limit; i++) expect((await guess(attacker, 'alice', `wrong guess ${i}`)).status).toBe(401)
    expect((await guess(attacker, 'alice', 'one guess too many')).status).toBe(429)

    // One second later: ordinary authenticated requests, each with a fresh proof (one `jti` counter each).
    t.clock.advance(1_000)
    for (let i = 0; i < 1_100; i++) {
      expect((await callWithDpop(attacker, holder, t.clock.now(), 'GET', '/v1/account/whoami', bound)).status).toBe(200)
    }

    // Nothing has expired (the guess window is 15 minutes): the flood evicted only replay marks.
    expect((await guess(attacker, 'alice', 'after the flood')).status).toBe(429)
  }, 60_000)

  it('finding 55: a DPoP proof signed the allowed clock skew ahead is refused as a replay up to the last instant it is accepted at all (memory store)', async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 23, 8, 0, 0, 0))
    const store = memoryStore({ clock, sweepIntervalMs: 0 })
    const proofs = dpopProofs({ counters: store.counters, clock })
    const holder = await dpopHolder()
    const url = `${BASE}/oauth2/token`
    // A client whose clock is 5 s ahead (the tolerated skew) signs `iat` = now + 5 s.
    const proof = await holder.prove('POST', url, clock.now() + 5_000)
    await proofs.accept(proof, { method: 'POST', url })
    // Until the replay mark expires, a replay is refused.
    clock.advance(64_999)
    await expect(proofs.accept(proof, { method: 'POST', url })).rejects.toThrow(/already used/)
    // At first use + 65 000 ms `iat` is exactly 60 s old, which the age check still accepts: the mark
    // lives one millisecond longer (before finding 55 it was gone at that instant on memory and DO).
    clock.advance(1)
    await expect(proofs.accept(proof, { method: 'POST', url })).rejects.toThrow(/already used/)
    // A millisecond later the proof is too old, whatever the mark.
    clock.advance(1)
    await expect(proofs.accept(proof, { method: 'POST', url })).rejects.toThrow(/too old/)
  })
})
