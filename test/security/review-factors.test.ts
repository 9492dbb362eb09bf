/**
 * Review "account factors and the way back": defects found by an adversarial review of who, other than
 * the owner, can change the account's factors or standing, lock the owner out, or keep the owner from
 * the way back. Each `review:` test fails on the code it was written against and passes once fixed.
 * Through app.request() with the fake clock on the memory store, as the other security tests.
 */
import { describe, expect, it } from 'vitest'
import { memoryDurableStore } from '../../src/adapters/durable/memory.ts'
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'
import { StoreUnavailableError } from '../../src/core/store-unavailable.ts'
import type { DurableStore } from '../../src/ports.ts'
import { call, login, refreshingSession, viaApp, withUia } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { BASE, bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import type { DpopHolder } from '../helpers/dpop.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const NEW_PASSWORD = 'a brand new passphrase of hers'
const HOME = '198.51.100.20'
const THIEF = '203.0.113.77'
const START = Date.UTC(2026, 10, 23, 8, 0)

describe('review: the way back after a stolen password', () => {
  it("review: device_trust tokens a thief got with the stolen password survive the owner's password change and lock her step-ups out", async () => {
    const t = makeApp({ env: { ...TEST_ENV }, clock: fakeClock(START) })
    const home = viaApp(t.app, HOME)
    const created = await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    expect(created.status).toBe(201)
    const accountId = created.body.account_id as string
    const phone = await login(home, 'alice', PASSWORD, undefined, 'Phone')

    // The thief signs in three times with the stolen password, from his own network: three tokens.
    const thief = viaApp(t.app, THIEF)
    const tokens: string[] = []
    for (let i = 0; i < 3; i++) tokens.push((await login(thief, 'alice', PASSWORD, undefined, `Thief ${i}`)).device_trust as string)

    // The owner sees the sign-ins and takes the way back: a new password, every other device signed out.
    const changed = await withUia(
      home,
      'POST',
      '/v1/account/password',
      { new_password: NEW_PASSWORD, logout_devices: true },
      PASSWORD,
      undefined,
      phone.access_token as string,
    )
    expect(changed.final.status, JSON.stringify(changed.final.body)).toBe(200)
    t.clock.advance(60_000)

    // The thief no longer has a session, nor the password. His tokens still buy trusted guesses:
    // 10 with each, which together fill the account's trusted ceiling (30 per 15 min).
    for (const token of tokens) {
      for (let i = 0; i < 10; i++) {
        const { final } = await withUia(thief, 'POST', '/v1/login', { username: 'alice', device_trust: token }, `wrong guess ${i}`)
        expect([401, 429]).toContain(final.status)
      }
    }
    // The proof on the server's side: a token handed out before the change still counts as the owner's device.
    const origin = await t.auth.trust.originOf(accountId, THIEF, { token: tokens[0] as string })

    // The owner's phone, the one device she kept, steps up with the right (new) password: refused 429
    // before the fix, as is every credential check from her trusted devices, tokens and home network.
    const again = await withUia(
      home,
      'POST',
      '/v1/account/password',
      { new_password: 'yet another passphrase of hers', logout_devices: true },
      NEW_PASSWORD,
      undefined,
      phone.access_token as string,
    )
    expect(again.final.status, JSON.stringify(again.final.body)).toBe(200)
    expect(origin.kind).not.toBe('trusted-device')
  })
})

/** A memory durable store whose recovery-code writes fail (the store unreachable) while `failing.on`. */
const flakyCodes =
  (failing: { on: boolean }) =>
  (clock: ReturnType<typeof fakeClock>): DurableStore => {
    const inner = memoryDurableStore({ clock })
    const replace = inner.credentials.replaceRecoveryCodes.bind(inner.credentials)
    inner.credentials.replaceRecoveryCodes = async (accountId, hashes) => {
      if (failing.on) throw new StoreUnavailableError('store unavailable (test)')
      return replace(accountId, hashes)
    }
    return inner
  }

describe('review: recovery codes after the second factor is turned off', () => {
  it('review: a TOTP removal cut before the codes are wiped leaves them live for good, and an approval step-up takes one instead of the password', async () => {
    const failing = { on: false }
    const t = makeApp({
      env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0' },
      clock: fakeClock(START),
      durable: flakyCodes(failing),
    })
    const home = viaApp(t.app, HOME)
    const created = await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const accountId = created.body.account_id as string
    const phone = await login(home, 'alice', PASSWORD, undefined, 'Phone')
    const token = phone.access_token as string
    const begun = await withUia(home, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, token)
    const key = totpSecretFromBase32(begun.final.body.secret as string)
    if (!key.ok) throw new Error('bad secret')
    const confirmed = await call(home, 'POST', '/v1/account/totp/confirm', { code: generateTotp(key.value.bytes(), t.clock.now()) }, token)
    expect(confirmed.status).toBe(200)
    const codes = confirmed.body.recovery_codes as string[]
    t.clock.advance(60_000)

    // The owner turns two-step verification off (she no longer keeps the printed codes); the store
    // fails once right after the factor's removal: 503, and her retry is told TOTP is not on.
    failing.on = true
    const cut = await withUia(
      home,
      'DELETE',
      '/v1/account/totp',
      {},
      PASSWORD,
      { type: 'm.login.2fa.totp', code: generateTotp(key.value.bytes(), t.clock.now()) },
      token,
    )
    failing.on = false
    expect(cut.final.status).toBe(503)
    const retry = await withUia(home, 'DELETE', '/v1/account/totp', {}, PASSWORD, undefined, token)
    expect(retry.final.status).toBe(400)
    expect((await call(home, 'GET', '/v1/admin/users/alice', undefined, ADMIN_TOKEN)).body).toMatchObject({ two_factor: 'none' })
    const left = await t.durable.credentials.countRecoveryCodes(accountId)

    // Someone holding the phone's session and one old printed code, not the password, approves a
    // login from far away: the proximity step-up asks for a recovery code alone.
    const holder = await dpopHolder()
    const binding = bindingOf('R')
    const grant = await requestGrant(viaApp(t.app, THIEF), holder, t.clock.now(), { channel_binding: binding })
    const body = { decision: 'approve' as const, channel_binding: binding, dpop_jkt: holder.jkt }
    const challenge = await decide(home, token, grant.codes.user_code, body)
    expect(challenge.status).toBe(401)
    const flows = (challenge.body.flows as { stages: string[] }[]).map((f) => f.stages)
    const answer = await decide(home, token, grant.codes.user_code, {
      ...body,
      auth: { type: 'm.login.2fa.recovery', session: challenge.body.session as string, code: codes[0] as string },
    })
    // With TOTP off the codes are still there (10 before a fix) and no retry wipes them; whatever the
    // fix, they must never stand in for the password: before, the flows were [[recovery]] and a code
    // alone approved the login.
    expect(
      flows.every((stages) => stages.includes('m.login.password')),
      `${JSON.stringify(flows)}, codes left: ${left}`,
    ).toBe(true)
    expect(answer.status, JSON.stringify(answer.body)).not.toBe(200)
  })
})

/** `POST /oauth2/token` refresh of a DPoP-bound session, with a proof by its key. */
const refreshBound = async (send: ReturnType<typeof viaApp>, holder: DpopHolder, nowMs: number, refreshToken: string) => {
  const res = await send('/oauth2/token', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await holder.prove('POST', `${BASE}/oauth2/token`, nowMs),
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  })
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}

describe('review: a TOTP enrolment begun under the old password', () => {
  it("review: a TOTP enrolment the thief began with the stolen password survives the owner's password change and is confirmed later without any step-up", async () => {
    const t = makeApp({
      env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown' },
      clock: fakeClock(START),
    })
    const home = viaApp(t.app, HOME)
    expect((await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const phone = await refreshingSession(home, 'alice', PASSWORD, 'Phone')

    // The thief, with the stolen password, signs in and begins a TOTP enrolment (UIA with the
    // password): he keeps the secret and does not confirm it, so nothing is reported but his sign-in.
    const thief = viaApp(t.app, THIEF)
    const stolen = await login(thief, 'alice', PASSWORD, undefined, 'Laptop')
    const begun = await withUia(thief, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, stolen.access_token as string)
    expect(begun.final.status).toBe(200)
    const key = totpSecretFromBase32(begun.final.body.secret as string)
    if (!key.ok) throw new Error('bad secret')

    // The owner sees the sign-in and takes the way back: a new password, every other device signed out.
    const changed = await withUia(
      home,
      'POST',
      '/v1/account/password',
      { new_password: NEW_PASSWORD, logout_devices: true },
      PASSWORD,
      undefined,
      await phone.token(home),
    )
    expect(changed.final.status).toBe(200)
    expect((await call(thief, 'GET', '/v1/account/whoami', undefined, stolen.access_token as string)).status).toBe(401)

    // Later a phished QR login lands (the owner approves a code relayed to her): a session that never
    // proved any password, in quarantine for 24 h.
    t.clock.advance(3_600_000)
    const holder = await dpopHolder()
    const binding = bindingOf('Q')
    const grant = await requestGrant(thief, holder, t.clock.now(), { channel_binding: binding })
    const approved = await decide(home, await phone.token(home), grant.codes.user_code, {
      decision: 'approve',
      channel_binding: binding,
      dpop_jkt: holder.jkt,
    })
    expect(approved.status, JSON.stringify(approved.body)).toBe(200)
    const minted = await pollToken(thief, holder, t.clock.now(), grant.codes.device_code)
    expect(minted.status).toBe(200)

    // Out of quarantine, it still cannot begin an enrolment (that asks for the password)…
    t.clock.advance(25 * 3_600_000)
    const renewed = await refreshBound(thief, holder, t.clock.now(), minted.body.refresh_token as string)
    expect(renewed.status).toBe(200)
    const access = renewed.body.access_token as string
    const fresh = await callWithDpop(thief, holder, t.clock.now(), 'POST', '/v1/account/totp', access, {})
    expect(fresh.status).toBe(401)
    // …but it confirms the one begun under the old password, with no step-up: the account's second
    // factor is now the thief's, and the recovery codes are handed to him.
    const code = generateTotp(key.value.bytes(), t.clock.now())
    const confirmed = await callWithDpop(thief, holder, t.clock.now(), 'POST', '/v1/account/totp/confirm', access, { code })
    expect(confirmed.status, JSON.stringify(confirmed.body)).not.toBe(200)
    expect((await call(home, 'GET', '/v1/admin/users/alice', undefined, ADMIN_TOKEN)).body).toMatchObject({ two_factor: 'none' })
  })
})
