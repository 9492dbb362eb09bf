/**
 * The accounts feature end to end through `app.request()`, run against every durable store (memory,
 * SQLite, Redis): users, login through UIA (MSC2839), TOTP and recovery codes (MSC1997), device
 * sessions with rotating refresh tokens, devices, password change (MSC2457), brute-force limits, the
 * UIA request binding, and bad input everywhere.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { generateTotp, totpSecretFromBase32 } from '../../../src/core/auth/totp.ts'
import { reviseAccount } from '../../../src/core/accounts/records.ts'
import { authServices } from '../../../src/services/auth-services.ts'
import type { TestApp } from '../../helpers/make-app.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'
import { call, login, refresh, viaApp, withUia, type Send } from '../../helpers/account-client.ts'
import { COMMON_PASSWORDS } from '../../../src/core/auth/common-passwords.ts'

/** Makes a fresh app (with `env` added to the suite's test env) and says how to release it. */
export type MakeAccountApp = (env: Record<string, string>) => Promise<{ t: TestApp; close: () => Promise<void> }>

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'
/** Cheap argon2id so the suite runs in seconds; the cost itself is covered by the benchmark. */
export const TEST_ENV: Record<string, string> = {
  QRELAY_ARGON2_MEMORY_KIB: '64',
  QRELAY_ARGON2_ITERATIONS: '1',
  QRELAY_REGISTRATION_ENABLED: 'true',
  QRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
}

const PASSWORD = 'correct horse battery staple'

export const describeAccountFlow = (name: string, make: MakeAccountApp): void => {
  describe(`accounts end to end: ${name}`, () => {
    let closeApp: (() => Promise<void>) | undefined
    afterEach(async () => {
      await closeApp?.()
      closeApp = undefined
    })

    const setup = async (env: Record<string, string> = {}) => {
      const { t, close } = await make({ ...TEST_ENV, ...env })
      closeApp = close
      const send = viaApp(t.app)
      const created = await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      return { t, send, accountId: created.body.account_id as string }
    }

    /** Enrols TOTP for the signed-in device and returns the key bytes and the recovery codes. */
    const enrolTotp = async (t: TestApp, send: Send, token: string) => {
      const { final } = await withUia(send, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, token)
      expect(final.status, JSON.stringify(final.body)).toBe(200)
      expect(final.body.uri).toMatch(/^otpauth:\/\/totp\/qrelay:alice\?secret=[A-Z2-7]{32}&/)
      expect(final.body.qr_svg).toMatch(/^<svg|<\?xml/)
      const key = totpSecretFromBase32(final.body.secret as string)
      if (!key.ok) throw new Error('bad secret')
      expect(key.value.bytes()).toHaveLength(20)
      // Wrong for every step the check accepts (±1 around now): the clock may start at wall-clock time.
      const near = [-30_000, 0, 30_000].map((d) => generateTotp(key.value.bytes(), t.clock.now() + d))
      const wrongCode = ['000000', '111111', '222222', '333333'].find((c) => !near.includes(c))
      const wrong = await call(send, 'POST', '/v1/account/totp/confirm', { code: wrongCode }, token)
      expect(wrong.status).toBe(403)
      const confirmed = await call(
        send,
        'POST',
        '/v1/account/totp/confirm',
        { code: generateTotp(key.value.bytes(), t.clock.now()) },
        token,
      )
      expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200)
      expect(confirmed.body.recovery_codes).toHaveLength(10)
      t.clock.advance(30_000) // the next code belongs to a fresh step
      return { key: key.value.bytes(), codes: confirmed.body.recovery_codes as string[] }
    }

    it('logs in with a password through a UIA 401 and answers whoami when the user exists', async () => {
      const { send } = await setup()
      const first = await call(send, 'POST', '/v1/login', { username: 'alice' })
      expect(first.status).toBe(401)
      expect(first.body).toMatchObject({ flows: [{ stages: ['m.login.password'] }], completed: [], params: {} })
      expect(typeof first.body.session).toBe('string')
      const tokens = await login(send, 'alice', PASSWORD)
      expect(tokens.access_token).toMatch(/^[\w-]{22}\.[\w-]{43}$/)
      expect(tokens.expires_in_ms).toBe(300_000)
      const who = await call(send, 'GET', '/v1/account/whoami', undefined, tokens.access_token)
      expect(who).toMatchObject({ status: 200, body: { user_id: 'alice', device_id: tokens.device_id } })
    })

    it('asks for TOTP after the password once enrolled, and then signs in with password + TOTP', async () => {
      const { t, send } = await setup()
      const first = await login(send, 'alice', PASSWORD)
      const { key } = await enrolTotp(t, send, first.access_token)

      const start = await call(send, 'POST', '/v1/login', { username: 'alice' })
      expect(start.body.flows).toEqual([{ stages: ['m.login.password'] }])
      const session = start.body.session as string
      const afterPassword = await call(send, 'POST', '/v1/login', {
        username: 'alice',
        auth: { type: 'm.login.password', session, password: PASSWORD },
      })
      expect(afterPassword.status).toBe(401)
      expect(afterPassword.body.completed).toEqual(['m.login.password'])
      expect(afterPassword.body.flows).toEqual([
        { stages: ['m.login.password', 'm.login.2fa.totp'] },
        { stages: ['m.login.password', 'm.login.2fa.recovery'] },
      ])
      const code = generateTotp(key, t.clock.now())
      // A second factor is never checked ahead of the password, not even on a fresh session.
      const early = await call(send, 'POST', '/v1/login', { username: 'alice' })
      const skipped = await call(send, 'POST', '/v1/login', {
        username: 'alice',
        auth: { type: 'm.login.2fa.totp', session: early.body.session, code },
      })
      expect(skipped).toMatchObject({ status: 400, body: { qrelay_code: 'UIA_STAGE_NOT_ALLOWED' } })
      const done = await call(send, 'POST', '/v1/login', { username: 'alice', auth: { type: 'm.login.2fa.totp', session, code } })
      expect(done.status, JSON.stringify(done.body)).toBe(200)

      // The same code again (same step) is a replay.
      const again = await withUia(send, 'POST', '/v1/login', { username: 'alice' }, PASSWORD, { type: 'm.login.2fa.totp', code })
      expect(again.final.status).toBe(401)
      expect(again.final.body.errcode).toBe('M_FORBIDDEN')
    })

    it('signs in with a recovery code once, emits a security event, and refuses the code a second time', async () => {
      const { t, send, accountId } = await setup()
      const first = await login(send, 'alice', PASSWORD)
      const { codes } = await enrolTotp(t, send, first.access_token)
      await login(send, 'alice', PASSWORD, { type: 'm.login.2fa.recovery', code: codes[0] as string })
      expect(t.events.list(accountId).map((e) => e.type)).toContain('recovery_code_used')
      expect(t.events.list(accountId).find((e) => e.type === 'recovery_code_used')?.details).toEqual({ codes_left: 9 })
      const reused = await withUia(send, 'POST', '/v1/login', { username: 'alice' }, PASSWORD, {
        type: 'm.login.2fa.recovery',
        code: codes[0] as string,
      })
      expect(reused.final.status).toBe(401)
      expect(reused.final.body.errcode).toBe('M_FORBIDDEN')
    })

    it('regenerates recovery codes and the old ones stop working', async () => {
      const { t, send } = await setup()
      const first = await login(send, 'alice', PASSWORD)
      const { key, codes } = await enrolTotp(t, send, first.access_token)
      const regen = await withUia(
        send,
        'POST',
        '/v1/account/recovery-codes',
        {},
        PASSWORD,
        { type: 'm.login.2fa.totp', code: generateTotp(key, t.clock.now()) },
        first.access_token,
      )
      expect(regen.final.status, JSON.stringify(regen.final.body)).toBe(200)
      const fresh = regen.final.body.recovery_codes as string[]
      expect(fresh).toHaveLength(10)
      const old = await withUia(send, 'POST', '/v1/login', { username: 'alice' }, PASSWORD, {
        type: 'm.login.2fa.recovery',
        code: codes[1] as string,
      })
      expect(old.final.status).toBe(401)
      await login(send, 'alice', PASSWORD, { type: 'm.login.2fa.recovery', code: fresh[0] as string })
    })

    it('disables TOTP with UIA, after which a password alone signs in again', async () => {
      const { t, send } = await setup()
      const first = await login(send, 'alice', PASSWORD)
      const { key } = await enrolTotp(t, send, first.access_token)
      const off = await withUia(
        send,
        'DELETE',
        '/v1/account/totp',
        {},
        PASSWORD,
        { type: 'm.login.2fa.totp', code: generateTotp(key, t.clock.now()) },
        first.access_token,
      )
      expect(off.final.status, JSON.stringify(off.final.body)).toBe(200)
      await login(send, 'alice', PASSWORD)
    })

    it('signs every other device out at once when the password changes with logout_devices (default true)', async () => {
      const { send } = await setup()
      const a = await login(send, 'alice', PASSWORD, undefined, 'A')
      const b = await login(send, 'alice', PASSWORD, undefined, 'B')
      const changed = await withUia(
        send,
        'POST',
        '/v1/account/password',
        { new_password: 'a brand new passphrase' },
        PASSWORD,
        undefined,
        a.access_token,
      )
      expect(changed.final.status, JSON.stringify(changed.final.body)).toBe(200)
      expect((await call(send, 'GET', '/v1/account/whoami', undefined, b.access_token)).body.errcode).toBe('M_UNKNOWN_TOKEN')
      expect((await refresh(send, b.refresh_token)).body.error).toBe('invalid_grant')
      expect((await call(send, 'GET', '/v1/account/whoami', undefined, a.access_token)).status).toBe(200)
      const old = await withUia(send, 'POST', '/v1/login', { username: 'alice' }, PASSWORD)
      expect(old.final.status).toBe(401)
      await login(send, 'alice', 'a brand new passphrase')
    })

    it('keeps the other devices signed in when the password changes with logout_devices false', async () => {
      const { send } = await setup()
      const a = await login(send, 'alice', PASSWORD, undefined, 'A')
      const b = await login(send, 'alice', PASSWORD, undefined, 'B')
      const body = { new_password: 'a brand new passphrase', logout_devices: false }
      const changed = await withUia(send, 'POST', '/v1/account/password', body, PASSWORD, undefined, a.access_token)
      expect(changed.final.status).toBe(200)
      expect((await call(send, 'GET', '/v1/account/whoami', undefined, b.access_token)).status).toBe(200)
      expect((await refresh(send, b.refresh_token)).status).toBe(200)
    })

    it('rotates refresh tokens, and a rotated one presented again revokes the whole family', async () => {
      const { t, send } = await setup()
      const tokens = await login(send, 'alice', PASSWORD)
      const r1 = await refresh(send, tokens.refresh_token)
      expect(r1.status, JSON.stringify(r1.body)).toBe(200)
      expect(r1.body).toMatchObject({ token_type: 'Bearer', expires_in: 300 })
      expect(r1.body.refresh_token).not.toBe(tokens.refresh_token)
      expect((await call(send, 'GET', '/v1/account/whoami', undefined, r1.body.access_token)).status).toBe(200)
      t.clock.advance(t.config.auth.refreshGraceMs + 1)
      const replay = await refresh(send, tokens.refresh_token)
      expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
      expect(typeof replay.body.error_description).toBe('string')
      expect((await refresh(send, r1.body.refresh_token)).body.error).toBe('invalid_grant')
      expect((await call(send, 'GET', '/v1/account/whoami', undefined, r1.body.access_token)).status).toBe(401)
    })

    it('expires access tokens after their TTL while the refresh token still works', async () => {
      const { t, send } = await setup()
      const tokens = await login(send, 'alice', PASSWORD)
      t.clock.advance(300_000)
      expect((await call(send, 'GET', '/v1/account/whoami', undefined, tokens.access_token)).status).toBe(401)
      expect((await refresh(send, tokens.refresh_token)).status).toBe(200)
    })

    it('lists, renames and deletes devices (deleting asks for UIA), and logs out', async () => {
      const { send } = await setup()
      const a = await login(send, 'alice', PASSWORD, undefined, 'Laptop')
      const b = await login(send, 'alice', PASSWORD, undefined, 'Phone')
      const listed = await call(send, 'GET', '/v1/devices', undefined, a.access_token)
      expect(listed.status).toBe(200)
      expect(listed.body.devices).toHaveLength(2)
      expect(listed.body.devices[0]).toMatchObject({
        device_id: a.device_id,
        display_name: 'Laptop',
        created_via: 'password',
        current: true,
      })
      expect(typeof listed.body.devices[0].created_at_ms).toBe('number')
      expect(typeof listed.body.devices[0].last_seen_at_ms).toBe('number')
      expect((await call(send, 'PATCH', `/v1/devices/${b.device_id}`, { display_name: 'Old phone' }, a.access_token)).status).toBe(200)
      const renamed = await call(send, 'GET', '/v1/devices', undefined, a.access_token)
      expect(renamed.body.devices[1].display_name).toBe('Old phone')

      const noAuth = await call(send, 'DELETE', `/v1/devices/${b.device_id}`, {}, a.access_token)
      expect(noAuth.status).toBe(401)
      expect((await call(send, 'GET', '/v1/account/whoami', undefined, b.access_token)).status).toBe(200)
      const deleted = await withUia(send, 'DELETE', `/v1/devices/${b.device_id}`, {}, PASSWORD, undefined, a.access_token)
      expect(deleted.final.status).toBe(200)
      expect((await call(send, 'GET', '/v1/account/whoami', undefined, b.access_token)).status).toBe(401)
      expect((await refresh(send, b.refresh_token)).status).toBe(400)

      expect((await call(send, 'POST', '/v1/logout', {}, a.access_token)).status).toBe(200)
      expect((await call(send, 'GET', '/v1/account/whoami', undefined, a.access_token)).status).toBe(401)
    })

    it('answers 401 M_MISSING_TOKEN without a token and M_UNKNOWN_TOKEN with a bad one', async () => {
      const { send } = await setup()
      expect((await call(send, 'GET', '/v1/devices')).body.errcode).toBe('M_MISSING_TOKEN')
      const bad = await call(send, 'GET', '/v1/devices', undefined, `${'A'.repeat(22)}.${'B'.repeat(43)}`)
      expect(bad).toMatchObject({ status: 401, body: { errcode: 'M_UNKNOWN_TOKEN' } })
      expect((await call(send, 'GET', '/v1/account/whoami', undefined, 'nonsense')).status).toBe(401)
    })

    it('answers 429 with retry_after_ms after too many wrong passwords for one account, even for the right one', async () => {
      const { send } = await setup({ QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT: '3/900s' })
      const start = await call(send, 'POST', '/v1/login', { username: 'alice' })
      const session = start.body.session as string
      const attempt = (password: string) =>
        call(send, 'POST', '/v1/login', { username: 'alice', auth: { type: 'm.login.password', session, password } })
      for (let i = 0; i < 3; i++) expect((await attempt(`wrong password ${i}`)).body.errcode).toBe('M_FORBIDDEN')
      const limited = await attempt('wrong password 4')
      expect(limited.status).toBe(429)
      expect(limited.body.errcode).toBe('M_LIMIT_EXCEEDED')
      expect(limited.body.retry_after_ms).toBeGreaterThan(0)
      expect((await attempt(PASSWORD)).status).toBe(429)
    })

    it('counts wrong TOTP confirmation codes against the signed-in device (its own budget)', async () => {
      const { send } = await setup({ QRELAY_RATE_AUTH_FAILURES_PER_TRUSTED_DEVICE: '2/900s' })
      const tokens = await login(send, 'alice', PASSWORD)
      expect((await withUia(send, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, tokens.access_token)).final.status).toBe(200)
      const statuses: number[] = []
      for (let i = 0; i < 4; i++)
        statuses.push((await call(send, 'POST', '/v1/account/totp/confirm', { code: 'abcdef' }, tokens.access_token)).status)
      expect(statuses).toEqual([403, 403, 429, 429])
    })

    it('limits failures per client address across usernames, unknown ones included', async () => {
      const { t, send } = await setup({ QRELAY_RATE_AUTH_FAILURES_PER_CLIENT: '2/900s' })
      const statuses: number[] = []
      for (const username of ['nobody1', 'nobody2', 'alice']) {
        const { final } = await withUia(send, 'POST', '/v1/login', { username }, 'wrong password!!')
        statuses.push(final.status)
      }
      expect(statuses).toEqual([401, 401, 429])
      const elsewhere = viaApp(t.app, '198.51.100.7')
      expect((await withUia(elsewhere, 'POST', '/v1/login', { username: 'alice' }, PASSWORD)).final.status).toBe(200)
    })

    it('refuses a locked account at minting even after its stages completed, and disabled accounts too', async () => {
      const { t, send, accountId } = await setup()
      const tokens = await login(send, 'alice', PASSWORD)
      const start = await call(send, 'POST', '/v1/login', { username: 'alice' })
      const account = await t.durable.accounts.get(accountId)
      if (account === null) throw new Error('no account')
      const locked = reviseAccount(account, { lockedUntilMs: t.clock.now() + 60_000 }, t.clock.now())
      expect(await t.durable.accounts.update(accountId, account.version, locked)).toBe('ok')
      const refused = await call(send, 'POST', '/v1/login', {
        username: 'alice',
        auth: { type: 'm.login.password', session: start.body.session, password: PASSWORD },
      })
      expect(refused.status).toBe(403)
      expect((await refresh(send, tokens.refresh_token)).body.error).toBe('invalid_grant')
      expect(await t.auth.sessions.mint(locked, { displayName: 'x', origin: 'password' }).catch((e: { code: string }) => e.code)).toBe(
        'FORBIDDEN',
      )

      t.clock.advance(60_001)
      await login(send, 'alice', PASSWORD)
      const disabled = await call(send, 'POST', '/v1/admin/users/alice/disable', {}, ADMIN_TOKEN)
      expect(disabled.status).toBe(200)
      expect((await call(send, 'GET', '/v1/account/whoami', undefined, tokens.access_token)).status).toBe(401)
      expect((await withUia(send, 'POST', '/v1/login', { username: 'alice' }, PASSWORD)).final.status).toBe(403)
    })

    it('binds a UIA session to its request and spends it once', async () => {
      const { send } = await setup()
      const a = await login(send, 'alice', PASSWORD)
      const b = await login(send, 'alice', PASSWORD)
      const body = { new_password: 'a brand new passphrase', logout_devices: false }
      const start = await call(send, 'POST', '/v1/account/password', body, a.access_token)
      const session = start.body.session as string
      const auth = { type: 'm.login.password', session, password: PASSWORD }
      // Same session, different body, path or account: refused.
      const otherBody = await call(
        send,
        'POST',
        '/v1/account/password',
        { ...body, new_password: 'attacker chosen pass', auth },
        a.access_token,
      )
      expect(otherBody).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } })
      const otherPath = await call(send, 'POST', '/v1/account/recovery-codes', { auth }, a.access_token)
      expect(otherPath.status).toBeGreaterThanOrEqual(400)
      const otherDevice = await call(send, 'DELETE', `/v1/devices/${b.device_id}`, { auth }, a.access_token)
      expect(otherDevice.status).toBe(403)
      expect((await call(send, 'GET', '/v1/account/whoami', undefined, b.access_token)).status).toBe(200)
      // The right request succeeds once; the completed session cannot be replayed, even on the same request.
      expect((await call(send, 'POST', '/v1/account/password', { ...body, auth }, a.access_token)).status).toBe(200)
      const replay = await call(send, 'POST', '/v1/account/password', { ...body, auth }, a.access_token)
      expect(replay).toMatchObject({ status: 403, body: { qrelay_code: 'UIA_SESSION_INVALID' } })
      const loginReplay = await call(send, 'POST', '/v1/login', { username: 'alice', auth })
      expect(loginReplay.status).toBe(403)
    })

    it('expires UIA sessions', async () => {
      const { t, send } = await setup()
      const start = await call(send, 'POST', '/v1/login', { username: 'alice' })
      t.clock.advance(t.config.auth.uiaSessionTtlSeconds * 1000)
      const late = await call(send, 'POST', '/v1/login', {
        username: 'alice',
        auth: { type: 'm.login.password', session: start.body.session, password: PASSWORD },
      })
      expect(late.status).toBe(403)
    })

    it('registers through the dummy stage when registration is on, and refuses weak or taken names', async () => {
      const { send } = await setup()
      const first = await call(send, 'POST', '/v1/register', { username: 'bob', password: PASSWORD })
      expect(first.body.flows).toEqual([{ stages: ['m.login.dummy'] }])
      const done = await call(send, 'POST', '/v1/register', {
        username: 'bob',
        password: PASSWORD,
        auth: { type: 'm.login.dummy', session: first.body.session },
      })
      expect(done.status, JSON.stringify(done.body)).toBe(201)
      await login(send, 'Bob', PASSWORD)
      expect((await call(send, 'POST', '/v1/register', { username: 'BOB', password: PASSWORD })).body.errcode).toBe('M_USER_IN_USE')
      expect((await call(send, 'POST', '/v1/register', { username: 'carol', password: 'password123' })).body.errcode).toBe(
        'M_WEAK_PASSWORD',
      )
      expect((await call(send, 'POST', '/v1/register', { username: 'carol', password: 'short' })).body.errcode).toBe('M_WEAK_PASSWORD')
      expect((await call(send, 'POST', '/v1/register', { username: 'bad name', password: PASSWORD })).status).toBe(400)
    })

    it('rehashes a password transparently when the configured cost changed', async () => {
      const { t, send, accountId } = await setup()
      const before = (await t.durable.accounts.get(accountId))?.passwordHash
      expect(before).toContain('m=64,t=1')
      // Same stores, new cost: the services a restarted server with QRELAY_ARGON2_ITERATIONS=2 would build.
      const account = await t.durable.accounts.get(accountId)
      if (account === null) throw new Error('no account')
      const svc = authServices({
        config: { ...t.config, auth: { ...t.config.auth, argon2Iterations: 2 } },
        store: t.store,
        durable: t.durable,
        events: t.events,
        clock: t.clock,
        random: seededRandom(11),
        uiaKey: new Uint8Array(32),
        keyring: t.keyring,
        commonPasswords: COMMON_PASSWORDS,
      })
      expect((await svc.accounts.checkPassword(account, PASSWORD)).ok).toBe(true)
      expect((await t.durable.accounts.get(accountId))?.passwordHash).toContain('m=64,t=2')
      await login(send, 'alice', PASSWORD)
    })
  })
}
