/**
 * Finding 58 (SECURITY.md, docs/security/owner-protections.md): recovery codes are a stand-in for the
 * TOTP they came with. A TOTP removal cut between its store step and the wipe of the codes (or a
 * regeneration racing the removal) left codes stored while TOTP was off, and the approval step-up
 * offered them alone, in place of the password. Now no code is offered, accepted or spent while TOTP
 * is off, and the next enrolment replaces whatever is stored.
 */
import { describe, expect, it } from 'vitest'
import { memoryDurableStore } from '../../src/adapters/durable/memory.ts'
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'
import { StoreUnavailableError } from '../../src/core/store-unavailable.ts'
import type { DurableStore } from '../../src/ports.ts'
import { call, login, viaApp, withUia, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { bindingOf, decide, requestGrant } from '../helpers/qr-login.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const THIEF = '203.0.113.77'
const START = Date.UTC(2026, 10, 23, 8, 0)

/** Turns TOTP on for the session `token` (UIA with the password, then a code): its key and recovery codes. */
const enrolTotp = async (send: Send, token: string, nowMs: number) => {
  const begun = await withUia(send, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, token)
  const key = totpSecretFromBase32(begun.final.body.secret as string)
  if (!key.ok) throw new Error('bad secret')
  const confirmed = await call(send, 'POST', '/v1/account/totp/confirm', { code: generateTotp(key.value.bytes(), nowMs) }, token)
  expect(confirmed.status).toBe(200)
  return { key: key.value, codes: confirmed.body.recovery_codes as string[] }
}

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

describe('finding 58: recovery codes go with the TOTP they came with', () => {
  it('finding 58: codes a cut TOTP removal left stored never stand in for the password: the approval step-up asks for the password and a code alone approves nothing', async () => {
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
    const { key, codes } = await enrolTotp(home, token, t.clock.now())
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
      { type: 'm.login.2fa.totp', code: generateTotp(key.bytes(), t.clock.now()) },
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
    // With TOTP off the codes may still be stored (the retry answers 400 and changes nothing), but they
    // never stand in for the password: before the fix the flows were [[recovery]] and a code alone
    // approved the login.
    expect(
      flows.every((stages) => stages.includes('m.login.password')),
      `${JSON.stringify(flows)}, codes left: ${left}`,
    ).toBe(true)
    expect(answer.status, JSON.stringify(answer.body)).not.toBe(200)
    // And nothing was spent: the leftover codes are inert, not used up.
    expect(await t.durable.credentials.countRecoveryCodes(accountId)).toBe(left)
  })

  it('finding 58: a code stored while TOTP is off (a regeneration that raced the removal) is refused by the check behind every recovery-code stage and not spent; with TOTP on, a code still works', async () => {
    const t = makeApp({ env: { ...TEST_ENV }, clock: fakeClock(START) })
    const home = viaApp(t.app, HOME)
    const created = await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const accountId = created.body.account_id as string
    const phone = await login(home, 'alice', PASSWORD, undefined, 'Phone')
    const token = phone.access_token as string
    // Codes written while no TOTP is on, as a regeneration that passed its check before a removal would.
    const set = await t.auth.secondFactors.regenerateRecoveryCodes(accountId, phone.device_id as string)
    const account = await t.durable.accounts.get(accountId)
    if (account === null) throw new Error('no account')
    expect((await t.auth.secondFactors.useRecoveryCode(account, set[0] as string)).ok).toBe(false)
    expect(await t.durable.credentials.countRecoveryCodes(accountId)).toBe(set.length)
    // With TOTP enrolled (its codes replace the stored ones), a code is a second factor again.
    const { codes } = await enrolTotp(home, token, t.clock.now())
    const enrolled = await t.durable.accounts.get(accountId)
    if (enrolled === null) throw new Error('no account')
    expect((await t.auth.secondFactors.useRecoveryCode(enrolled, set[0] as string)).ok).toBe(false)
    expect((await t.auth.secondFactors.useRecoveryCode(enrolled, codes[0] as string)).ok).toBe(true)
  })
})
