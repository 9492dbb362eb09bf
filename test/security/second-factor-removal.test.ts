/**
 * Finding 58 (SECURITY.md, docs/security/owner-protections.md): recovery codes are a stand-in for the
 * TOTP they came with. A TOTP removal cut between its store step and the wipe of the codes (or a
 * regeneration racing the removal) left codes stored while TOTP was off, and the approval step-up
 * offered them alone, in place of the password. Now no code is offered, accepted or spent while TOTP
 * is off, a retry of the removal wipes the codes left, a regeneration that finds TOTP gone at its write
 * is refused with its codes wiped, and the next enrolment replaces whatever is stored.
 */
import { describe, expect, it } from 'vitest'
import { memoryDurableStore } from '../../src/adapters/durable/memory.ts'
import { generateRecoveryCodes } from '../../src/core/auth/recovery-codes.ts'
import { generateTotp } from '../../src/core/auth/totp.ts'
import { StoreUnavailableError } from '../../src/core/store-unavailable.ts'
import type { DurableStore } from '../../src/ports.ts'
import { call, enrolTotp, login, viaApp, withUia } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { bindingOf, decide, requestGrant } from '../helpers/qr-login.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { seededRandom } from '../helpers/seeded-random.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const THIEF = '203.0.113.77'
const START = Date.UTC(2026, 10, 23, 8, 0)

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

/** Stores 10 recovery codes for the account directly, whatever its TOTP: what a cut removal leaves. */
const storeLeftovers = (t: TestApp, accountId: string) => {
  const set = generateRecoveryCodes(seededRandom(58))
  return { codes: set.codes(), stored: t.durable.credentials.replaceRecoveryCodes(accountId, set.hashes) }
}

/**
 * A memory durable store that runs `race.run` once, right before (or after) the next write of a
 * non-empty set of recovery codes: a TOTP removal landing inside a regeneration.
 */
const racedCodes =
  (race: { when: 'before' | 'after'; run?: () => Promise<void> }) =>
  (clock: ReturnType<typeof fakeClock>): DurableStore => {
    const inner = memoryDurableStore({ clock })
    const replace = inner.credentials.replaceRecoveryCodes.bind(inner.credentials)
    inner.credentials.replaceRecoveryCodes = async (accountId, hashes) => {
      const run = hashes.length > 0 ? race.run : undefined
      if (run !== undefined) race.run = undefined
      if (run !== undefined && race.when === 'before') await run()
      const written = await replace(accountId, hashes)
      if (run !== undefined && race.when === 'after') await run()
      return written
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
    const { key, codes } = await enrolTotp(home, token, PASSWORD, t.clock.now())
    t.clock.advance(60_000)

    // The owner turns two-step verification off (she no longer keeps the printed codes); the store
    // fails once right after the factor's removal: 503. She does not retry (the account shows it off).
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
    expect((await call(home, 'GET', '/v1/admin/users/alice', undefined, ADMIN_TOKEN)).body).toMatchObject({ two_factor: 'none' })
    const left = await t.durable.credentials.countRecoveryCodes(accountId)
    expect(left).toBe(codes.length)

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
    // With TOTP off the codes are still stored until a retry, but they never stand in for the password:
    // before the fix the flows were [[recovery]] and a code alone approved the login.
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
    // Codes stored while no TOTP is on, as a cut removal or a raced regeneration (before the fix) left them.
    const set = storeLeftovers(t, accountId)
    await set.stored
    const account = await t.durable.accounts.get(accountId)
    if (account === null) throw new Error('no account')
    expect((await t.auth.secondFactors.useRecoveryCode(account, set.codes[0] as string)).ok).toBe(false)
    expect(await t.durable.credentials.countRecoveryCodes(accountId)).toBe(set.codes.length)
    // With TOTP enrolled (its codes replace the stored ones), a code is a second factor again.
    const { codes } = await enrolTotp(home, token, PASSWORD, t.clock.now())
    const enrolled = await t.durable.accounts.get(accountId)
    if (enrolled === null) throw new Error('no account')
    expect((await t.auth.secondFactors.useRecoveryCode(enrolled, set.codes[0] as string)).ok).toBe(false)
    expect((await t.auth.secondFactors.useRecoveryCode(enrolled, codes[0] as string)).ok).toBe(true)
  })

  it('finding 58: a retry of a TOTP removal cut before its wipe wipes the codes left, behind the same step-up, and answers 200; then 400 as before', async () => {
    const failing = { on: false }
    const t = makeApp({ env: { ...TEST_ENV }, clock: fakeClock(START), durable: flakyCodes(failing) })
    const home = viaApp(t.app, HOME)
    const created = await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const accountId = created.body.account_id as string
    const token = (await login(home, 'alice', PASSWORD, undefined, 'Phone')).access_token as string
    const { key } = await enrolTotp(home, token, PASSWORD, t.clock.now())
    t.clock.advance(60_000)
    failing.on = true
    const totp = { type: 'm.login.2fa.totp' as const, code: generateTotp(key.bytes(), t.clock.now()) }
    const cut = await withUia(home, 'DELETE', '/v1/account/totp', {}, PASSWORD, totp, token)
    failing.on = false
    expect(cut.final.status).toBe(503)
    expect(await t.durable.credentials.countRecoveryCodes(accountId)).toBe(10)

    // The retry asks the password (TOTP is off: no second factor), then wipes: 200, nothing left.
    const retry = await withUia(home, 'DELETE', '/v1/account/totp', {}, PASSWORD, undefined, token)
    expect(retry.rounds[0]?.status).toBe(401)
    expect(retry.final.status, JSON.stringify(retry.final.body)).toBe(200)
    expect(await t.durable.credentials.countRecoveryCodes(accountId)).toBe(0)
    // The owner heard of the removal once, from the step that removed the factor.
    const feed = await t.durable.security.readEvents(accountId, 0, 100)
    expect(feed.filter((e) => e.type === 'totp_disabled')).toHaveLength(1)
    // Nothing left to remove: the same answer as ever, before any step-up.
    const again = await call(home, 'DELETE', '/v1/account/totp', {}, token)
    expect(again.status).toBe(400)
    expect(again.body.error).toBe('TOTP is not enabled')
  })

  it('finding 58: the /account page sent again after a TOTP removal cut before its wipe wipes the codes left', async () => {
    const t = makeApp({ env: { ...TEST_ENV }, clock: fakeClock(START) })
    const account = await t.auth.accounts.create('dora', PASSWORD)
    const owner = await t.auth.sessions.mint(account, { displayName: 'Web browser', origin: 'password' })
    // TOTP is off and codes are stored: the state a removal cut before its wipe leaves.
    await storeLeftovers(t, account.id).stored
    const res = await t.app.request('https://relay.example/account/totp/disable', {
      method: 'POST',
      headers: {
        cookie: `__Host-qrelay-page=${owner.accessToken}`,
        origin: 'https://relay.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ confirm: '1', password: PASSWORD }).toString(),
    })
    expect(res.status).toBe(200)
    expect(await t.durable.credentials.countRecoveryCodes(account.id)).toBe(0)
  })

  for (const when of ['before', 'after'] as const) {
    it(`finding 58: a regeneration that passed its checks while a TOTP removal lands ${when} its write leaves no code stored and is refused`, async () => {
      const race: { when: 'before' | 'after'; run?: () => Promise<void> } = { when }
      const t = makeApp({ env: { ...TEST_ENV }, clock: fakeClock(START), durable: racedCodes(race) })
      const home = viaApp(t.app, HOME)
      const created = await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
      const accountId = created.body.account_id as string
      const phone = await login(home, 'alice', PASSWORD, undefined, 'Phone')
      const token = phone.access_token as string
      const { key } = await enrolTotp(home, token, PASSWORD, t.clock.now())
      t.clock.advance(60_000)
      // The removal (another of the owner's devices, or the operator's reset-2fa) commits in full
      // after the regeneration's own TOTP check and step-up.
      race.run = () => t.auth.secondFactors.disableTotp(accountId, phone.device_id as string)
      const totp = { type: 'm.login.2fa.totp' as const, code: generateTotp(key.bytes(), t.clock.now()) }
      const regen = await withUia(home, 'POST', '/v1/account/recovery-codes', {}, PASSWORD, totp, token)
      expect(race.run).toBeUndefined()
      expect(regen.final.status, JSON.stringify(regen.final.body)).toBe(400)
      expect(regen.final.body.recovery_codes).toBeUndefined()
      expect(await t.durable.credentials.countRecoveryCodes(accountId)).toBe(0)
    })
  }

  it('finding 58 (guard): with TOTP on, a recovery code still answers an approval step-up and signs in with the password', async () => {
    const t = makeApp({ env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0' }, clock: fakeClock(START) })
    const home = viaApp(t.app, HOME)
    const created = await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const accountId = created.body.account_id as string
    const token = (await login(home, 'alice', PASSWORD, undefined, 'Phone')).access_token as string
    const { codes } = await enrolTotp(home, token, PASSWORD, t.clock.now())
    t.clock.advance(60_000)

    const holder = await dpopHolder()
    const binding = bindingOf('G')
    const grant = await requestGrant(viaApp(t.app, THIEF), holder, t.clock.now(), { channel_binding: binding })
    const body = { decision: 'approve' as const, channel_binding: binding, dpop_jkt: holder.jkt }
    const challenge = await decide(home, token, grant.codes.user_code, body)
    expect(challenge.status).toBe(401)
    expect((challenge.body.flows as { stages: string[] }[]).map((f) => f.stages)).toEqual([['m.login.2fa.totp'], ['m.login.2fa.recovery']])
    const answer = await decide(home, token, grant.codes.user_code, {
      ...body,
      auth: { type: 'm.login.2fa.recovery', session: challenge.body.session as string, code: codes[0] as string },
    })
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)

    const laptop = await login(home, 'alice', PASSWORD, { type: 'm.login.2fa.recovery', code: codes[1] as string }, 'Laptop')
    expect(typeof laptop.access_token).toBe('string')
    expect(await t.durable.credentials.countRecoveryCodes(accountId)).toBe(codes.length - 2)
  })
})
