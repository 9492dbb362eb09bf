/**
 * Findings 56 and 57 (owner protections, docs/security/owner-protections.md): what a thief got with the
 * stolen password, besides sessions and sign-ins in flight (finding 47), must not outlive the owner's
 * password change with `logout_devices`.
 * - 56: `device_trust` tokens are bound to the account's sign-in epoch when issued; once it moves they
 *   are unknown, so they no longer spend the owner's trusted guess budgets.
 * - 57: a pending TOTP enrolment is bound to the device that began it, the epoch at that moment and a
 *   10-minute lifetime, and the change drops it in its own store step: no other session confirms it.
 * Through app.request() with the fake clock, on memory and SQLite; the Redis version of finding 56 is
 * credential-cutoff.redis.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { memoryDurableStore } from '../../src/adapters/durable/memory.ts'
import { openSqlite, sqliteStore } from '../../src/adapters/durable/sqlite.ts'
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'
import type { DurableStore } from '../../src/ports.ts'
import { call, login, refreshingSession, viaApp, withUia, type Send } from '../helpers/account-client.ts'
import { dpopHolder, type DpopHolder } from '../helpers/dpop.ts'
import { fakeClock, type FakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { BASE, bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const NEW_PASSWORD = 'a brand new passphrase of hers'
const HOME = '198.51.100.20'
const THIEF = '203.0.113.77'
const START = Date.UTC(2026, 10, 23, 8, 0)
const ENV = { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown' }

const root = mkdtempSync(join(tmpdir(), 'qrelay-credential-cutoff-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let serial = 0

const STORES: ReadonlyArray<[string, (clock: FakeClock) => DurableStore]> = [
  ['memory', (clock) => memoryDurableStore({ clock })],
  ['sqlite', (clock) => sqliteStore({ db: openSqlite(join(root, `db-${serial++}`)), clock })],
]

/** Alice, with her phone signed in from home. */
const setup = async (make: (clock: FakeClock) => DurableStore) => {
  const t = makeApp({ env: ENV, clock: fakeClock(START), durable: make })
  const home = viaApp(t.app, HOME)
  const created = await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
  expect(created.status).toBe(201)
  const phone = await refreshingSession(home, 'alice', PASSWORD, 'Phone')
  return {
    t,
    home,
    phone,
    thief: viaApp(t.app, THIEF),
    accountId: created.body.account_id as string,
    /** The owner's password change from her phone, signing every other device out. */
    changePassword: async (from: string, to: string) => {
      const body = { new_password: to, logout_devices: true }
      return (await withUia(home, 'POST', '/v1/account/password', body, from, undefined, await phone.token(home))).final
    },
  }
}

/** A TOTP code of the base32 `secret` at `nowMs`. */
const codeOf = (secret: string, nowMs: number): string => {
  const key = totpSecretFromBase32(secret)
  if (!key.ok) throw new Error('bad secret')
  return generateTotp(key.value.bytes(), nowMs)
}

/** `POST /oauth2/token` refresh of a DPoP-bound session, with a proof by its key. */
const refreshBound = async (send: Send, holder: DpopHolder, nowMs: number, refreshToken: string) => {
  const res = await send('/oauth2/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await holder.prove('POST', `${BASE}/oauth2/token`, nowMs) },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  })
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}

/** Ten wrong guesses through `POST /v1/login` with the token. */
const spend = async (send: Send, token: string) => {
  for (let i = 0; i < 10; i++) {
    const { final } = await withUia(send, 'POST', '/v1/login', { username: 'alice', device_trust: token }, `wrong guess ${i}`)
    expect([401, 429]).toContain(final.status)
  }
}

for (const [store, make] of STORES) {
  describe(`finding 56: device_trust tokens issued before a password change that signs the others out select no budget (${store})`, () => {
    it("finding 56: device_trust tokens a thief got with the stolen password survive the owner's password change and lock her step-ups out", async () => {
      const s = await setup(make)
      // The thief signs in three times with the stolen password, from his own network: three tokens.
      const tokens: string[] = []
      for (let i = 0; i < 3; i++) tokens.push((await login(s.thief, 'alice', PASSWORD, undefined, `Thief ${i}`)).device_trust as string)

      // The owner takes the way back: a new password, every other device signed out.
      expect((await s.changePassword(PASSWORD, NEW_PASSWORD)).status).toBe(200)
      s.t.clock.advance(60_000)

      // Ten wrong guesses with each token (before the fix: the account's whole trusted ceiling)…
      for (const token of tokens) await spend(s.thief, token)
      // …leave the owner's phone able to step up with the new password (before: 429 for 15 minutes).
      const again = await withUia(
        s.home,
        'POST',
        '/v1/account/password',
        { new_password: 'yet another passphrase of hers', logout_devices: true },
        NEW_PASSWORD,
        undefined,
        await s.phone.token(s.home),
      )
      expect(again.final.status, JSON.stringify(again.final.body)).toBe(200)
      // His tokens no longer count as the owner's device: each guess was a stranger's.
      const account = await s.t.durable.accounts.get(s.accountId)
      for (const token of tokens) expect(await s.t.auth.trust.originOf(account, THIEF, { token })).toEqual({ kind: 'unknown' })
    })

    it("finding 56: the owner's own token, issued after the change, still selects the trusted-device budget; a token of before it and a token of an earlier release (no epoch) do not", async () => {
      const s = await setup(make)
      const before = (await login(s.home, 'alice', PASSWORD, undefined, 'Laptop')).device_trust as string
      expect((await s.changePassword(PASSWORD, NEW_PASSWORD)).status).toBe(200)
      const after = await login(s.home, 'alice', NEW_PASSWORD, undefined, 'Laptop again')
      const account = await s.t.durable.accounts.get(s.accountId)
      expect(account?.authEpoch).toBe(1)
      expect((await s.t.auth.trust.originOf(account, THIEF, { token: after.device_trust as string })).kind).toBe('trusted-device')
      expect((await s.t.auth.trust.originOf(account, THIEF, { token: before })).kind).toBe('unknown')

      // A token stored by an earlier release holds the account id alone: epoch 0, trusted only while
      // the account's epoch is 0. Written as that release wrote it (the stored key is the token's hash).
      const { hashSecret } = await import('../../src/core/crypto/secrets.ts')
      const legacy = 'L'.repeat(43)
      await s.t.store.kv.put(`devtrust:${hashSecret(legacy)}`, s.accountId, 60_000)
      expect((await s.t.auth.trust.originOf(account, THIEF, { token: legacy })).kind).toBe('unknown')
      expect((await s.t.auth.trust.originOf({ id: s.accountId }, THIEF, { token: legacy })).kind).toBe('trusted-device')

      // The token issued after the change has its own budget: the owner signs in with it after a
      // stranger used up the account's untrusted ceiling.
      for (let i = 0; i < 10; i++) {
        const { final } = await withUia(s.thief, 'POST', '/v1/login', { username: 'alice' }, `wrong ${i}`)
        expect([401, 429]).toContain(final.status)
      }
      const trusted = await withUia(
        viaApp(s.t.app, '192.0.2.9'),
        'POST',
        '/v1/login',
        { username: 'alice', device_trust: after.device_trust },
        NEW_PASSWORD,
      )
      expect(trusted.final.status, JSON.stringify(trusted.final.body)).toBe(200)
    })
  })

  describe(`finding 57: a pending TOTP enrolment is confirmed only by the device that began it, under the same credentials (${store})`, () => {
    it("finding 57: a TOTP enrolment the thief began with the stolen password survives the owner's password change and is confirmed later without any step-up", async () => {
      const s = await setup(make)
      // The thief signs in and begins an enrolment (UIA with the password); he keeps the secret.
      const stolen = await login(s.thief, 'alice', PASSWORD, undefined, 'Laptop')
      const begun = await withUia(s.thief, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, stolen.access_token as string)
      expect(begun.final.status).toBe(200)
      const secret = begun.final.body.secret as string

      // The owner changes the password, signing every other device out: the pending enrolment goes in
      // the same store step.
      expect((await s.changePassword(PASSWORD, NEW_PASSWORD)).status).toBe(200)
      expect((await s.t.durable.accounts.get(s.accountId))?.totp).toBeUndefined()

      // A phished QR login lands later and leaves quarantine.
      s.t.clock.advance(3_600_000)
      const holder = await dpopHolder()
      const binding = bindingOf('Q')
      const grant = await requestGrant(s.thief, holder, s.t.clock.now(), { channel_binding: binding })
      const approval = { decision: 'approve' as const, channel_binding: binding, dpop_jkt: holder.jkt }
      expect((await decide(s.home, await s.phone.token(s.home), grant.codes.user_code, approval)).status).toBe(200)
      const minted = await pollToken(s.thief, holder, s.t.clock.now(), grant.codes.device_code)
      expect(minted.status).toBe(200)
      s.t.clock.advance(25 * 3_600_000)
      const renewed = await refreshBound(s.thief, holder, s.t.clock.now(), minted.body.refresh_token as string)
      expect(renewed.status).toBe(200)
      const access = renewed.body.access_token as string

      // It confirms nothing: before the fix, 200 with the thief's factor and its recovery codes.
      const confirmed = await callWithDpop(s.thief, holder, s.t.clock.now(), 'POST', '/v1/account/totp/confirm', access, {
        code: codeOf(secret, s.t.clock.now()),
      })
      expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(400)
      expect(confirmed.body.recovery_codes).toBeUndefined()
      expect((await call(s.home, 'GET', '/v1/admin/users/alice', undefined, ADMIN_TOKEN)).body).toMatchObject({ two_factor: 'none' })
    })

    it('finding 57: an enrolment begun on one device is confirmed by no other, nor once the epoch moved or its 10 minutes are over', async () => {
      const s = await setup(make)
      const laptop = await refreshingSession(s.home, 'alice', PASSWORD, 'Laptop')
      const begin = async (token: string) => {
        const { final } = await withUia(s.home, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, token)
        expect(final.status).toBe(200)
        return final.body.secret as string
      }
      const confirm = (token: string, secret: string) =>
        call(s.home, 'POST', '/v1/account/totp/confirm', { code: codeOf(secret, s.t.clock.now()) }, token)

      // Begun on the laptop, refused on the phone (the laptop can still confirm it).
      const first = await begin(await laptop.token(s.home))
      const elsewhere = await confirm(await s.phone.token(s.home), first)
      expect(elsewhere.status, JSON.stringify(elsewhere.body)).toBe(400)

      // Over 10 minutes old: refused, and a new enrolment replaces it.
      s.t.clock.advance(10 * 60_000 + 1)
      expect((await confirm(await laptop.token(s.home), first)).status).toBe(400)

      // The epoch moved under a pending enrolment (as a change whose step left it would): refused.
      const second = await begin(await laptop.token(s.home))
      await s.t.auth.accounts.revise(s.accountId, (a) => ({ authEpoch: (a.authEpoch ?? 0) + 1 }))
      expect((await confirm(await laptop.token(s.home), second)).status).toBe(400)
      expect((await call(s.home, 'GET', '/v1/admin/users/alice', undefined, ADMIN_TOKEN)).body).toMatchObject({ two_factor: 'none' })
    })

    it('finding 57: the device that began an enrolment confirms it when nothing changed, and a new enrolment replaces a pending one', async () => {
      const s = await setup(make)
      const begun = await withUia(s.home, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, await s.phone.token(s.home))
      expect(begun.final.status).toBe(200)
      // A restart from the same device replaces the pending one: the newer key is the one confirmed.
      s.t.clock.advance(5 * 60_000)
      const restarted = await withUia(s.home, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, await s.phone.token(s.home))
      expect(restarted.final.status).toBe(200)
      s.t.clock.advance(9 * 60_000)
      const code = codeOf(restarted.final.body.secret as string, s.t.clock.now())
      const confirmed = await call(s.home, 'POST', '/v1/account/totp/confirm', { code }, await s.phone.token(s.home))
      expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200)
      expect(confirmed.body.recovery_codes).toHaveLength(10)
      const stored = await s.t.durable.accounts.get(s.accountId)
      expect(stored?.totp?.confirmedAtMs).toBe(s.t.clock.now())
      expect(stored?.totp?.pending).toBeUndefined()
    })
  })
}
