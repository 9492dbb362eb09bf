/**
 * Fault: a process killed, or its store failing, in the middle of a password change (finding 43,
 * docs/security/faults.md), as a suite over shared stores (memory and SQLite in
 * password-change-crash.test.ts, a real Redis in password-change-crash.redis.test.ts). Two apps
 * ("processes" A and B) share the stores. The owner changes the password at A; A's durable store is
 * cut right after the first call that leaves the new password stored: from there nothing of A runs
 * (`kill`: its request never answers), or that call and every later one throw (`error`: a store error
 * whose answer was lost). Whatever the cut, once the new password is stored, every other session (the
 * phisher's) is signed out, the owner's own is not, and the feed holds `password_changed`. The same cut
 * after TOTP is switched off leaves `totp_disabled` in the feed.
 */
import { describe, expect, it } from 'vitest'
import type { AccountRecord } from '../../src/core/accounts/records.ts'
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'
import { silentLogger } from '../../src/adapters/platform/node.ts'
import type { DurableStore, WebhookMessage, WebhookOutbox } from '../../src/ports.ts'
import { webhookSecurityEvents } from '../../src/services/webhooks.ts'
import { call, login, refresh, viaApp, withUia, type Answer, type Send } from '../helpers/account-client.ts'
import { fakeClock, type FakeClock } from '../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { seededRandom } from '../helpers/seeded-random.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'
import type { CrashRunStores } from './crash-stores.ts'
import { cutDurable, type Fault } from './cut-durable.ts'

const PASSWORD = 'correct horse battery staple'
const NEW_PASSWORD = 'a different long passphrase'

interface Run {
  a: Send
  b: TestApp
  atB: Send
  accountId: string
  /** The hash of the password before the change. */
  oldHash: string
  phone: Record<string, any>
  phisher: Record<string, any>
  outbox: WebhookOutbox
  /** Arms the cut for this account: after the write that stores a new password (or, `disabled`, the disable; or the change `changed` sees). */
  watch(disabled?: boolean | ((account: AccountRecord) => boolean)): void
  cut(): boolean
}

const setUp = async (fresh: () => CrashRunStores, fault: Fault): Promise<Run> => {
  const stores = fresh()
  const clock = fakeClock(stores.startMs)
  const sinks = (seed: number) => () => [
    webhookSecurityEvents({ outbox: stores.outbox(), clock, random: seededRandom(seed), logger: silentLogger }),
  ]
  const b = makeApp({ env: TEST_ENV, clock, store: stores.store, durable: stores.durable, random: seededRandom(31), sinks: sinks(41) })
  const forA = stores.forA()
  let cut: ReturnType<typeof cutDurable> | undefined
  let innerA: DurableStore | undefined
  const durableA = (c: FakeClock): DurableStore => {
    innerA = forA.durable(c)
    cut = cutDurable(innerA, fault, forA.kill)
    return cut.durable
  }
  const a = makeApp({ env: TEST_ENV, clock, store: stores.store, durable: durableA, random: seededRandom(32), sinks: sinks(42) })
  const atB = viaApp(b.app, '198.51.100.20')
  expect((await call(atB, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
  const phone = await login(atB, 'alice', PASSWORD, undefined, 'Phone')
  const phisher = await login(viaApp(b.app, '203.0.113.66'), 'alice', PASSWORD, undefined, 'Phished session')
  const account = await b.durable.accounts.findByUsername('alice')
  if (account === null || cut === undefined || innerA === undefined) throw new Error('no account, or A has no durable store')
  const inner = innerA
  // The sign-ins' webhooks (finding 40) go out before the run, which counts the password change's.
  const outbox = stores.outbox()
  for (const m of await outbox.claimDue(clock.now() + 3_600_000, 100, 30_000)) expect(await outbox.complete(m.id)).toBe(true)
  const state = cut.state
  return {
    a: viaApp(a.app, '198.51.100.20'),
    b,
    atB,
    accountId: account.id,
    oldHash: account.passwordHash,
    phone,
    phisher,
    outbox,
    watch: (disabled = false) => {
      const changed =
        typeof disabled === 'function'
          ? disabled
          : disabled
            ? (a: AccountRecord) => a.status === 'disabled'
            : (a: AccountRecord) => a.passwordHash !== account.passwordHash
      state.watch = async () => {
        const now = await inner.accounts.get(account.id)
        return now !== null && changed(now)
      }
    },
    cut: () => state.cut,
  }
}

/** Runs `request` at A and waits until it is answered or cut (a killed request never answers). */
const cutWhile = async (
  run: Run,
  request: () => Promise<Answer>,
  disabled: boolean | ((account: AccountRecord) => boolean) = false,
): Promise<Answer | null> => {
  run.watch(disabled)
  const answer = request()
  for (let i = 0; i < 400 && !run.cut(); i++) {
    const done = await Promise.race([answer.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 5))])
    if (done) break
  }
  return run.cut() ? Promise.race([answer, new Promise<null>((resolve) => setTimeout(() => resolve(null), 50))]) : answer
}

/** The owner's password change at A through the API, its UIA answered with the old password. */
const changeByOwner = (run: Run) => async (): Promise<Answer> => {
  const token = run.phone.access_token as string
  const first = await call(run.a, 'POST', '/v1/account/password', { new_password: NEW_PASSWORD }, token)
  const auth = { type: 'm.login.password', session: first.body.session, password: PASSWORD }
  return call(run.a, 'POST', '/v1/account/password', { new_password: NEW_PASSWORD, auth }, token)
}

/** The operator's reset at A (`POST /v1/admin/users/{name}/password`): every device signed out. */
const resetByOperator = (run: Run) => (): Promise<Answer> =>
  call(run.a, 'POST', '/v1/admin/users/alice/password', { password: NEW_PASSWORD }, ADMIN_TOKEN)

const newPasswordStored = async (run: Run): Promise<boolean> =>
  (await run.b.durable.accounts.get(run.accountId))?.passwordHash !== run.oldHash

const whoami = async (run: Run, tokens: Record<string, any>): Promise<number> =>
  (await call(run.atB, 'GET', '/v1/account/whoami', undefined, tokens.access_token as string)).status

const passwordEvents = async (run: Run) =>
  (await run.b.durable.security.readEvents(run.accountId, 0, 100)).filter((e) => e.type === 'password_changed')

const webhooksOf = async (run: Run, clockMs: number): Promise<WebhookMessage[]> => run.outbox.claimDue(clockMs + 3_600_000, 100, 30_000)

/** The suite; `fresh` makes each run's stores (empty, shared by both processes). */
export const describePasswordChangeCrash = (label: string, fresh: () => CrashRunStores): void => {
  describe(`faults (${label}): a process cut in the middle of a password change (finding 43)`, () => {
    it.each(['kill', 'error'] as const)(
      'owner, %s right after the new password is stored: the phisher is signed out, the owner is not, the feed holds the change',
      async (fault) => {
        const run = await setUp(fresh, fault)
        const answer = await cutWhile(run, changeByOwner(run))
        expect(run.cut()).toBe(true)
        if (fault === 'error') expect(answer?.status, JSON.stringify(answer?.body)).toBe(503)
        expect(await newPasswordStored(run)).toBe(true)
        // Before: 200 for the phisher (the sign-out never ran) and no event.
        expect(await whoami(run, run.phisher)).toBe(401)
        expect((await refresh(run.atB, run.phisher.refresh_token as string)).status).toBe(400)
        expect(await whoami(run, run.phone)).toBe(200)
        const devices = await run.b.durable.devices.listByAccount(run.accountId)
        expect(devices.map((d) => d.id)).toEqual([run.phone.device_id])
        const events = await passwordEvents(run)
        expect(events).toMatchObject([{ type: 'password_changed', deviceId: run.phone.device_id, details: { devices_signed_out: 1 } }])
        // The new password is the one that signs in now.
        await login(run.atB, 'alice', NEW_PASSWORD)
      },
    )

    it.each(['kill', 'error'] as const)(
      'operator reset, %s right after the new password is stored: every device is signed out, the feed holds the change',
      async (fault) => {
        const run = await setUp(fresh, fault)
        await cutWhile(run, resetByOperator(run))
        expect(run.cut()).toBe(true)
        expect(await newPasswordStored(run)).toBe(true)
        for (const tokens of [run.phone, run.phisher]) expect(await whoami(run, tokens)).toBe(401)
        expect(await run.b.durable.devices.listByAccount(run.accountId)).toEqual([])
        expect(await passwordEvents(run)).toMatchObject([{ type: 'password_changed', details: { devices_signed_out: 2 } }])
      },
    )

    it.each(['kill', 'error'] as const)(
      'operator disable, %s right after the account is disabled: every device is signed out, the feed holds account_disabled',
      async (fault) => {
        const run = await setUp(fresh, fault)
        await cutWhile(run, () => call(run.a, 'POST', '/v1/admin/users/alice/disable', undefined, ADMIN_TOKEN), true)
        expect(run.cut()).toBe(true)
        expect((await run.b.durable.accounts.get(run.accountId))?.status).toBe('disabled')
        for (const tokens of [run.phone, run.phisher]) expect(await whoami(run, tokens)).toBe(401)
        expect(await run.b.durable.devices.listByAccount(run.accountId)).toEqual([])
        const events = await run.b.durable.security.readEvents(run.accountId, 0, 100)
        expect(events.filter((e) => e.type === 'account_disabled')).toMatchObject([{ details: { by: 'operator' } }])
      },
    )

    it.each(['kill', 'error'] as const)('TOTP switched off, %s right after the write: the feed holds totp_disabled', async (fault) => {
      const run = await setUp(fresh, fault)
      const token = run.phone.access_token as string
      const begun = (await withUia(run.atB, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, token)).final
      const key = totpSecretFromBase32(begun.body.secret as string)
      if (!key.ok) throw new Error('bad secret')
      const code = () => generateTotp(key.value.bytes(), run.b.clock.now())
      expect((await call(run.atB, 'POST', '/v1/account/totp/confirm', { code: code() }, token)).status).toBe(200)
      run.b.clock.advance(30_000)
      const second = { type: 'm.login.2fa.totp' as const, code: code() }
      const off = async () => (await withUia(run.a, 'DELETE', '/v1/account/totp', {}, PASSWORD, second, token)).final
      await cutWhile(run, off, (a) => a.totp === undefined)
      expect(run.cut()).toBe(true)
      expect((await run.b.durable.accounts.get(run.accountId))?.totp).toBeUndefined()
      // Before: TOTP off, and no event: the owner's other devices never heard that a factor was removed.
      const events = await run.b.durable.security.readEvents(run.accountId, 0, 100)
      expect(events.filter((e) => e.type === 'totp_disabled')).toMatchObject([{ deviceId: run.phone.device_id }])
    })

    it('uncut: 200, the phisher signed out, one event in the feed and one webhook with the count', async () => {
      const run = await setUp(fresh, 'none')
      const answer = await changeByOwner(run)()
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      expect(await whoami(run, run.phisher)).toBe(401)
      expect(await whoami(run, run.phone)).toBe(200)
      expect(await passwordEvents(run)).toHaveLength(1)
      const sent = (await webhooksOf(run, run.b.clock.now())).map(
        (m) => JSON.parse(m.body) as { type: string; data: Record<string, unknown> },
      )
      expect(sent).toMatchObject([
        { type: 'security.password_changed', data: { device_id: run.phone.device_id, details: { devices_signed_out: 1 } } },
      ])
    })
  })
}
