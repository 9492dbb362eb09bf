/**
 * Fault: a process killed, or its store failing, in the middle of a "not me" report (finding 44,
 * docs/security/faults.md), as a suite over shared stores (memory and SQLite in not-me-crash.test.ts,
 * a real Redis in not-me-crash.redis.test.ts). Two apps ("processes" A and B) share the stores. The
 * owner's phone reports, at A, a device a phisher signed in by QR, which has a sibling minted through
 * the same channel. A's durable store is cut right after the first write that signs one of them out,
 * or right before it (the network deny, in the ephemeral store, done). Whatever the cut, afterwards
 * either nothing changed and the report, made again, completes, or the device and its sibling are
 * signed out with `device_not_me` in the feed; the network is denied to the account once. The
 * operator's sign-out of a device, cut the same way, leaves it signed out with `device_revoked`, and
 * the owner's own sign-out of it with `device_signed_out`.
 */
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/adapters/platform/node.ts'
import type { DurableStore, WebhookOutbox } from '../../src/ports.ts'
import { webhookSecurityEvents } from '../../src/services/webhooks.ts'
import { call, login, viaApp, withUia, type Answer, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock, type FakeClock } from '../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { bindingOf, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { seededRandom } from '../helpers/seeded-random.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'
import { newAccess, newDevice, newFamily } from '../integration/durable/fixtures.ts'
import type { CrashRunStores } from './crash-stores.ts'
import { cutDurable, type CutState, type Fault } from './cut-durable.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const PHISHER = '203.0.113.66'
const ENV = { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown' }

interface Run {
  a: Send
  b: TestApp
  atB: Send
  accountId: string
  phoneToken: string
  phished: { deviceId: string; token: string }
  sibling: { deviceId: string; accessId: string }
  outbox: WebhookOutbox
  state: CutState
}

/** The phisher's QR sign-in, approved by the phone at B; returns its device and access token. */
const phishedSignIn = async (b: TestApp, phone: Send, phoneToken: string) => {
  const holder = await dpopHolder()
  const send = viaApp(b.app, PHISHER)
  const binding = bindingOf('P')
  const { codes } = await requestGrant(send, holder, b.clock.now(), { channel_binding: binding })
  const approved = await decide(phone, phoneToken, codes.user_code, { decision: 'approve', channel_binding: binding, dpop_jkt: holder.jkt })
  expect(approved.status).toBe(200)
  const tokens = await pollToken(send, holder, b.clock.now(), codes.device_code)
  expect(tokens.status).toBe(200)
  return { deviceId: tokens.body.device_id as string, token: tokens.body.access_token as string }
}

/** A second device of the same QR channel (as a kit replaying it would mint), with its session. */
const siblingOf = async (b: TestApp, accountId: string, deviceId: string) => {
  const phished = await b.durable.devices.get(accountId, deviceId)
  if (phished === null) throw new Error('the phished device is not stored')
  const clock = b.clock as FakeClock
  const device = newDevice(clock, accountId, { ...phished, id: `${phished.id}-sibling`, createdAtMs: clock.now() })
  const family = newFamily(clock, device)
  const access = newAccess(clock, device, { familyId: family.id })
  expect(await b.durable.devices.createWithTokens(device, { family, access })).toBe('ok')
  return { deviceId: device.id, accessId: access.id }
}

const setUp = async (fresh: () => CrashRunStores, fault: Fault): Promise<Run> => {
  const stores = fresh()
  const clock = fakeClock(stores.startMs)
  const sinks = (seed: number) => () => [
    webhookSecurityEvents({ outbox: stores.outbox(), clock, random: seededRandom(seed), logger: silentLogger }),
  ]
  const common = { env: ENV, clock, store: stores.store, abuse: true, random: seededRandom(31) }
  const b = makeApp({ ...common, durable: stores.durable, sinks: sinks(41) })
  const forA = stores.forA()
  let cut: ReturnType<typeof cutDurable> | undefined
  const durableA = (c: FakeClock): DurableStore => {
    cut = cutDurable(forA.durable(c), fault, forA.kill)
    return cut.durable
  }
  const a = makeApp({ ...common, durable: durableA, random: seededRandom(32), sinks: sinks(42) })
  const atB = viaApp(b.app, HOME)
  expect((await call(atB, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
  const phone = await login(atB, 'alice', PASSWORD, undefined, 'Phone')
  const phoneToken = phone.access_token as string
  const account = await b.durable.accounts.findByUsername('alice')
  if (account === null || cut === undefined) throw new Error('no account, or A has no durable store')
  const phished = await phishedSignIn(b, atB, phoneToken)
  const sibling = await siblingOf(b, account.id, phished.deviceId)
  return { a: viaApp(a.app, HOME), b, atB, accountId: account.id, phoneToken, phished, sibling, outbox: stores.outbox(), state: cut.state }
}

/** Runs `request` at A and waits until it is answered or cut (a killed request never answers). */
const cutWhile = async (run: Run, request: () => Promise<Answer>): Promise<Answer | null> => {
  const answer = request()
  for (let i = 0; i < 400 && !run.state.cut; i++) {
    const done = await Promise.race([answer.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 5))])
    if (done) break
  }
  return run.state.cut ? Promise.race([answer, new Promise<null>((resolve) => setTimeout(() => resolve(null), 50))]) : answer
}

const report = (run: Run, send: Send) => (): Promise<Answer> =>
  call(send, 'POST', `/v1/devices/${run.phished.deviceId}/not-me`, {}, run.phoneToken)

/** Which of the two reported devices are still stored, and the `device_not_me` events of the feed. */
const left = async (run: Run) => {
  const ids = [run.phished.deviceId, run.sibling.deviceId]
  const stored = await Promise.all(ids.map((id) => run.b.durable.devices.get(run.accountId, id)))
  const events = (await run.b.durable.security.readEvents(run.accountId, 0, 100)).filter((e) => e.type === 'device_not_me')
  return { devices: ids.filter((_, i) => stored[i] !== null), events }
}

/** The remediation is complete: both devices and their tokens gone, one event, the phone in, the network denied to the account. */
const expectRemediated = async (run: Run) => {
  const after = await left(run)
  expect(after.devices).toEqual([])
  expect(after.events).toMatchObject([{ deviceId: run.phished.deviceId, details: { revoked: 2, network_deny_scope: 'account' } }])
  expect((await call(viaApp(run.b.app, PHISHER), 'GET', '/v1/account/whoami', undefined, run.phished.token)).status).toBe(401)
  expect(await run.b.durable.tokens.getAccess(run.sibling.accessId)).toBeNull()
  expect((await call(run.atB, 'GET', '/v1/account/whoami', undefined, run.phoneToken)).status).toBe(200)
  expect(await run.b.abuse?.deniedForMs(PHISHER, run.accountId)).toBeGreaterThan(0)
  expect(await run.b.abuse?.deniedForMs(PHISHER)).toBe(0)
  // The guard's reports of the network hold this account once, whether it reported once or again.
  const reports = JSON.parse((await run.b.store.kv.get(`abuse-reports:${PHISHER}`)) ?? '{}') as { until?: Record<string, number> }
  expect(Object.keys(reports.until ?? {})).toEqual([run.accountId])
}

const REMEDIATED = {
  network_deny_scope: 'account',
  network_denied_for_seconds: 86_400,
}

/** The suite; `fresh` makes each run's stores (empty, shared by both processes). */
export const describeNotMeCrash = (label: string, fresh: () => CrashRunStores): void => {
  describe(`faults (${label}): a process cut in the middle of a "not me" report (finding 44)`, () => {
    it.each(['kill', 'error'] as const)(
      '%s right after the first write that signs a device out: both devices and the event, or nothing and the report completes again',
      async (fault) => {
        const run = await setUp(fresh, fault)
        const { phished, sibling, accountId } = run
        run.state.watch = async () => {
          const stored = await Promise.all([phished.deviceId, sibling.deviceId].map((id) => run.b.durable.devices.get(accountId, id)))
          return stored.some((d) => d === null)
        }
        const answer = await cutWhile(run, report(run, run.a))
        expect(run.state.cut).toBe(true)
        if (fault === 'error') expect(answer?.status, JSON.stringify(answer?.body)).toBe(503)
        const after = await left(run)
        // Before: the reported device gone, its sibling signed in, no event; the retry answered 404.
        if (after.devices.length === 2) {
          expect(after.events).toEqual([])
          expect(await report(run, run.atB)()).toMatchObject({ status: 200, body: REMEDIATED })
        } else {
          expect(after.devices).toEqual([])
          expect((await report(run, run.atB)()).status).toBe(404)
        }
        await expectRemediated(run)
      },
    )

    it.each(['kill', 'error'] as const)(
      '%s after the network deny, before the sign-out: the report made again completes, the deny counted once',
      async (fault) => {
        const run = await setUp(fresh, fault)
        run.state.before = (method) => method.startsWith('revoke')
        const answer = await cutWhile(run, report(run, run.a))
        expect(run.state.cut).toBe(true)
        if (fault === 'error') expect(answer?.status).toBe(503)
        // The deny is in; nothing of the account changed.
        expect(await run.b.abuse?.deniedForMs(PHISHER, run.accountId)).toBeGreaterThan(0)
        expect(await left(run)).toEqual({ devices: [run.phished.deviceId, run.sibling.deviceId], events: [] })
        const retry = await report(run, run.atB)()
        expect(retry).toMatchObject({ status: 200, body: { ...REMEDIATED, network_kept_because: 'reporter_not_established' } })
        expect([...(retry.body.revoked_device_ids as string[])].sort()).toEqual([run.phished.deviceId, run.sibling.deviceId].sort())
        await expectRemediated(run)
      },
    )

    it.each(['kill', 'error'] as const)(
      "operator's sign-out of a device, %s right after it: the device is signed out and device_revoked is in the feed",
      async (fault) => {
        const run = await setUp(fresh, fault)
        const { phished, accountId } = run
        run.state.watch = async () => (await run.b.durable.devices.get(accountId, phished.deviceId)) === null
        const path = `/v1/admin/users/alice/devices/${phished.deviceId}`
        const answer = await cutWhile(run, () => call(run.a, 'DELETE', path, undefined, ADMIN_TOKEN))
        expect(run.state.cut).toBe(true)
        if (fault === 'error') expect(answer?.status).toBe(503)
        // Before: the device signed out, no event; the retry answered 404.
        expect((await left(run)).devices).toEqual([run.sibling.deviceId])
        const events = (await run.b.durable.security.readEvents(accountId, 0, 100)).filter((e) => e.type === 'device_revoked')
        expect(events).toMatchObject([{ deviceId: phished.deviceId, details: { by: 'operator' } }])
      },
    )

    it.each(['kill', 'error'] as const)(
      "the owner's own sign-out of a device, %s right after it: the device is signed out and device_signed_out is in the feed",
      async (fault) => {
        const run = await setUp(fresh, fault)
        const { phished, accountId } = run
        run.state.watch = async () => (await run.b.durable.devices.get(accountId, phished.deviceId)) === null
        const path = `/v1/devices/${phished.deviceId}`
        const signOut = async () => (await withUia(run.a, 'DELETE', path, {}, PASSWORD, undefined, run.phoneToken)).final
        const answer = await cutWhile(run, signOut)
        expect(run.state.cut).toBe(true)
        if (fault === 'error') expect(answer?.status).toBe(503)
        // Before (finding 41 alone): the device signed out, its event told after the commit, so lost here.
        expect((await left(run)).devices).toEqual([run.sibling.deviceId])
        const events = (await run.b.durable.security.readEvents(accountId, 0, 100)).filter((e) => e.type === 'device_signed_out')
        expect(events).toMatchObject([{ deviceId: phished.deviceId, details: { self: false } }])
      },
    )

    it('uncut: 200, both devices signed out, one event in the feed and one webhook with the count', async () => {
      const run = await setUp(fresh, 'none')
      const answer = await report(run, run.a)()
      expect(answer, JSON.stringify(answer.body)).toMatchObject({
        status: 200,
        body: { ...REMEDIATED, revoked_device_ids: [run.phished.deviceId, run.sibling.deviceId] },
      })
      await expectRemediated(run)
      const due = await run.outbox.claimDue(run.b.clock.now() + 3_600_000, 100, 30_000)
      const sent = due.map((m) => JSON.parse(m.body) as { type: string }).filter((m) => m.type === 'security.device_not_me')
      expect(sent).toMatchObject([{ data: { device_id: run.phished.deviceId, details: { revoked: 2, reported_by: expect.any(String) } } }])
    })
  })
}
