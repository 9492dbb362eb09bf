/**
 * Fault: a process killed inside a device-code redemption (docs/security/faults.md), as a suite over
 * shared stores (memory in redemption-crash.test.ts, a real Redis in redemption-crash.redis.test.ts).
 * Two apps ("processes" A and B) share the stores; A is "killed" at a fault point: from there on
 * nothing of A runs (its request never answers, no undo, no roll-back), or a store error is raised
 * there (A answers it). The new device retries at B. Both processes tell a webhook sink over one
 * shared outbox (docs/webhooks.md): the sign-in's webhook must be there once, whatever was cut.
 */
import { describe, expect, it } from 'vitest'
import type { AccessTokenRecord, RefreshFamilyRecord } from '../../src/core/accounts/records.ts'
import { hashSecret } from '../../src/core/crypto/secrets.ts'
import type { DeviceGrant } from '../../src/core/oauth/device-grant.ts'
import { openRedemptionPlan, type PlannedSession, type RedemptionPlan } from '../../src/core/oauth/redemption-plan.ts'
import { StoreUnavailableError } from '../../src/core/store-unavailable.ts'
import { silentLogger } from '../../src/adapters/platform/node.ts'
import type { DurableStore, EphemeralStore, WebhookMessage, WebhookOutbox } from '../../src/ports.ts'
import { webhookSecurityEvents } from '../../src/services/webhooks.ts'
import { call, login, viaApp, type Answer, type Send } from '../helpers/account-client.ts'
import { dpopHolder, type DpopHolder } from '../helpers/dpop.ts'
import { fakeClock, type FakeClock } from '../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { seededRandom } from '../helpers/seeded-random.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'
import { oauthForm } from '../security/tokens-setup.ts'

const PASSWORD = 'correct horse battery staple'
const BINDING = bindingOf('C')
/**
 * Where process A dies: right after its compare-and-swap moved the grant to `redeemed`, inside the
 * session mint (on Redis after the token look-ups were claimed, before the account's one step; on
 * the one-step stores just before it), or right after the mint's writes.
 */
type KillPoint = 'after-redeem' | 'inside-mint' | 'after-mint' | 'nowhere'
/** What happens there: the process dies, or the store fails (A answers 503, nothing is undone). */
type Fault = 'kill' | 'error'

/**
 * The cut inside the mint: the store awaits it before its last step. It never settles (A killed),
 * throws (a store error), or settles at once (no fault there).
 */
export type MintCut = () => Promise<void>

/** The shared stores of one run; `kill` ends process A's own connections (a no-op in memory). */
export interface RunStores {
  store: (clock: FakeClock) => EphemeralStore
  durable: (clock: FakeClock) => DurableStore
  /**
   * Each call: process A's view of the stores, on connections of its own. A store whose mint has a
   * step before the account's (Redis) awaits `cut` there and says so with `cutsInsideMint`; the
   * others are cut just before their one step.
   */
  forA: (cut: MintCut) => {
    store: (clock: FakeClock) => EphemeralStore
    durable: (clock: FakeClock) => DurableStore
    kill(): void
    cutsInsideMint?: boolean
  }
  /** Each call: the run's webhook outbox, on a connection of its own (memory: the same object). */
  outbox: () => WebhookOutbox
  startMs: number
}

const never = <T>(): Promise<T> => new Promise<T>(() => {})

/** Process A's stores, which stop the world at `point` (and end A's connections), or fail there. */
const killable = (stores: RunStores, point: KillPoint, fault: Fault) => {
  const state = { killed: false }
  const cutHere = async (): Promise<never> => {
    state.killed = true
    if (fault === 'error') throw new StoreUnavailableError('the store failed inside the mint')
    a.kill()
    return never()
  }
  const cut: MintCut = async () => {
    if (point === 'inside-mint') await cutHere()
  }
  const a = stores.forA(cut)
  const store = (clock: FakeClock): EphemeralStore => {
    const inner = a.store(clock)
    return {
      ...inner,
      kv: {
        ...inner.kv,
        async replaceIfMatch(key, expected, next, ttlMs) {
          const outcome = await inner.kv.replaceIfMatch(key, expected, next, ttlMs)
          if (point !== 'after-redeem' || outcome !== 'ok' || !next.includes('"kind":"redeemed"')) return outcome
          return cutHere()
        },
      },
    }
  }
  const durable = (clock: FakeClock): DurableStore => {
    const inner = a.durable(clock)
    return {
      ...inner,
      devices: {
        ...inner.devices,
        async createWithTokens(device, tokens, append, planned, authorisedEpoch, maxDevices) {
          if (a.cutsInsideMint !== true) await cut()
          const outcome = await inner.devices.createWithTokens(device, tokens, append, planned, authorisedEpoch, maxDevices)
          if (point !== 'after-mint') return outcome
          return cutHere()
        },
      },
    }
  }
  return { store, durable, state }
}

interface Run {
  /** The run's webhook outbox (on a connection of the test's own). */
  outbox: WebhookOutbox
  b: TestApp
  clock: FakeClock
  approver: Send
  approverToken: string
  accountId: string
  holder: DpopHolder
  deviceCode: string
  /** The new device's requests at B. */
  atB: Send
  /** The poll that was in flight at A when it died (never answers), or that met the store error. */
  inFlight: Promise<Answer>
}

/**
 * Alice signs in at B; the new device's grant is approved; its poll at A dies (or fails) at `point`
 * (`nowhere`: it is answered).
 */
const crashAt = async (fresh: () => RunStores, point: KillPoint, fault: Fault = 'kill'): Promise<Run> => {
  const stores = fresh()
  const clock = fakeClock(stores.startMs)
  const env = { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0' }
  const webhooks = (seed: number) => () => [
    webhookSecurityEvents({ outbox: stores.outbox(), clock, random: seededRandom(seed), logger: silentLogger }),
  ]
  const b = makeApp({ env, clock, store: stores.store, durable: stores.durable, random: seededRandom(11), sinks: webhooks(21) })
  const killer = killable(stores, point, fault)
  const a = makeApp({ env, clock, store: killer.store, durable: killer.durable, random: seededRandom(12), sinks: webhooks(22) })
  const approver = viaApp(b.app, '198.51.100.20')
  expect((await call(approver, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
  const approverToken = (await login(approver, 'alice', PASSWORD)).access_token as string
  // The approver's own password sign-in has its webhook too (finding 40): delivered before the run,
  // which counts the QR sign-in's.
  const outbox = stores.outbox()
  for (const m of await outbox.claimDue(clock.now() + 3_600_000, 100, 30_000)) expect(await outbox.complete(m.id)).toBe(true)
  expect(await outbox.counts()).toEqual({ pending: 0, dead: 0 })
  const accountId = (await b.durable.accounts.findByUsername('alice'))?.id as string
  const holder = await dpopHolder()
  const atA = viaApp(a.app, '198.51.100.77')
  const atB = viaApp(b.app, '198.51.100.77')
  const { codes } = await requestGrant(atB, holder, clock.now(), { channel_binding: BINDING, device_name: 'Laptop' })
  const decided = await decide(approver, approverToken, codes.user_code, {
    decision: 'approve',
    channel_binding: BINDING,
    dpop_jkt: holder.jkt,
  })
  expect(decided.status, JSON.stringify(decided.body)).toBe(200)
  const inFlight = pollToken(atA, holder, clock.now(), codes.device_code)
  if (point === 'nowhere') expect((await inFlight).status).toBe(200)
  for (let i = 0; i < 200 && point !== 'nowhere' && !killer.state.killed; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  expect(killer.state.killed).toBe(point !== 'nowhere')
  return { outbox, b, clock, approver, approverToken, accountId, holder, deviceCode: codes.device_code, atB, inFlight }
}

/** The plan the redemption sealed in the grant, and the session it opens to with the device code. */
const planOf = async (
  run: Run,
): Promise<{ grant: DeviceGrant; plan: RedemptionPlan; planned: PlannedSession; approverDeviceId: string }> => {
  const id = await run.b.store.kv.get(`grant-dc:${hashSecret(run.deviceCode)}`)
  const grant = JSON.parse((await run.b.store.kv.get(`grant:${id}`)) as string) as DeviceGrant
  if (grant.state.kind !== 'redeemed' || grant.state.mint === undefined) throw new Error('the grant holds no redemption plan')
  const planned = openRedemptionPlan(grant.state.mint, run.deviceCode)
  if (planned === null) throw new Error('the plan does not open')
  return { grant, plan: grant.state.mint, planned, approverDeviceId: grant.state.deviceId }
}

/**
 * What a process that minted in four steps (device, refresh family, access token, feed event; Redis
 * and Durable Objects before the mint was one step) left when killed after step `steps`: the plan's
 * records, written through the store's own intents.
 */
const partMade = async (run: Run, steps: 1 | 2 | 3) => {
  const { grant, planned, approverDeviceId } = await planOf(run)
  const now = run.clock.now()
  const owner = { accountId: run.accountId, deviceId: planned.deviceId, jkt: run.holder.jkt }
  const device = {
    id: planned.deviceId,
    accountId: run.accountId,
    displayName: 'Laptop',
    origin: 'qr' as const,
    approvedByDeviceId: approverDeviceId,
    channelHash: hashSecret(grant.channelBinding),
    quarantineUntilMs: now + 60_000,
    createdAtMs: now,
    lastSeenAtMs: now,
  }
  const family: RefreshFamilyRecord = {
    ...owner,
    id: planned.refresh.id,
    scopes: [],
    currentHash: planned.refresh.secretHash(),
    generation: 0,
    createdAtMs: now,
    expiresAtMs: now + 86_400_000,
  }
  const access: AccessTokenRecord = {
    ...owner,
    id: planned.access.id,
    secretHash: planned.access.secretHash(),
    familyId: family.id,
    scopes: [],
    issuedAtMs: now,
    expiresAtMs: now + 600_000,
  }
  const { durable } = run.b
  expect(await durable.devices.create(device)).toBe('ok')
  if (steps >= 2) expect(await durable.tokens.createRefreshFamily(family)).toBe('ok')
  if (steps >= 3) expect(await durable.tokens.putAccess(access)).toBe('ok')
  return planned
}

const qrDevices = async (run: Run) => (await run.b.durable.devices.listByAccount(run.accountId)).filter((d) => d.origin === 'qr')
const signedInEvents = async (run: Run) =>
  (await run.b.durable.security.readEvents(run.accountId, 0, 1000)).filter(
    (e) => e.type === 'device_signed_in' && e.details?.origin === 'qr',
  )

/**
 * Delivers every webhook of the run's outbox (bounded rounds; one account's go out one at a time):
 * the `device_signed_in` ones' device ids, in order. Delivered, their ids stay remembered.
 */
const deliverSignedInWebhooks = async (run: Run): Promise<Array<{ id: string; deviceId: string }>> => {
  const sent: WebhookMessage[] = []
  for (let round = 0; round < 50; round++) {
    const due = await run.outbox.claimDue(run.clock.now() + 3_600_000, 100, 30_000)
    if (due.length === 0) break
    for (const m of due) expect(await run.outbox.complete(m.id)).toBe(true)
    sent.push(...due)
  }
  return sent
    .map((m) => ({ id: m.id, body: JSON.parse(m.body) as { type: string; data: { device_id: string } } }))
    .filter((m) => m.body.type === 'security.device_signed_in')
    .map((m) => ({ id: m.id, deviceId: m.body.data.device_id }))
}

/** The suite; `fresh` makes each run's stores (empty, shared by both processes). */
export const describeRedemptionCrash = (label: string, fresh: () => RunStores): void => {
  describe(`faults (${label}): a process killed inside the device-code redemption`, () => {
    it.each(['after-redeem', 'inside-mint', 'after-mint'] as const)(
      'killed %s: the retry at another process gets working tokens of the one session; one device, one event',
      async (point) => {
        const run = await crashAt(fresh, point)
        run.clock.advance(5000)
        const retried = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
        expect(retried.status, JSON.stringify(retried.body)).toBe(200)
        expect(retried.body.token_type).toBe('DPoP')
        const token = retried.body.access_token as string
        expect((await callWithDpop(run.atB, run.holder, run.clock.now(), 'GET', '/v1/account/whoami', token)).status).toBe(200)
        // A second retry (the answer lost again) gets the very same tokens.
        const again = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
        expect(again.status).toBe(200)
        expect([again.body.access_token, again.body.refresh_token]).toEqual([token, retried.body.refresh_token])
        expect((await qrDevices(run)).map((d) => d.id)).toEqual([retried.body.device_id])
        expect((await signedInEvents(run)).map((e) => e.deviceId)).toEqual([retried.body.device_id])
        // The refresh token works, and the spent redemption then hands nothing out again.
        const refreshed = await oauthForm(
          { qrSend: run.atB, clock: run.clock },
          '/oauth2/token',
          {
            grant_type: 'refresh_token',
            refresh_token: retried.body.refresh_token as string,
          },
          run.holder,
        )
        expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
        const late = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
        expect(late.body.error_description).toBe('this device code was already used')
      },
    )

    it('killed between the mint and telling the sinks: the retry enqueues the sign-in webhook, once', async () => {
      const run = await crashAt(fresh, 'after-mint')
      // Committed with its feed event, but A told no sink: no webhook.
      expect(await signedInEvents(run)).toHaveLength(1)
      expect(await run.outbox.counts()).toEqual({ pending: 0, dead: 0 })
      run.clock.advance(5000)
      const retried = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
      expect(retried.status, JSON.stringify(retried.body)).toBe(200)
      // A second retry (its answer lost too), and concurrent ones: still one webhook.
      const more = await Promise.all([0, 1, 2].map(() => pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)))
      expect(more.map((p) => p.body.access_token)).toEqual([0, 1, 2].map(() => retried.body.access_token))
      expect(await run.outbox.counts()).toEqual({ pending: 1, dead: 0 })
      const sent = await deliverSignedInWebhooks(run)
      expect(sent.map((w) => w.deviceId)).toEqual([retried.body.device_id])
      // Delivered, then retried again within the grace: not sent again.
      expect((await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)).status).toBe(200)
      expect(await run.outbox.counts()).toEqual({ pending: 0, dead: 0 })
    })

    it('answered, then retried within the grace (the answer lost): one sign-in webhook, before and after delivery', async () => {
      const run = await crashAt(fresh, 'nowhere')
      const answered = await run.inFlight
      run.clock.advance(5000)
      const retried = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
      expect(retried.status, JSON.stringify(retried.body)).toBe(200)
      expect(retried.body.access_token).toBe(answered.body.access_token)
      expect(await run.outbox.counts()).toEqual({ pending: 1, dead: 0 })
      const [sent, ...others] = await deliverSignedInWebhooks(run)
      expect([sent?.deviceId, others]).toEqual([answered.body.device_id, []])
      expect((await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)).status).toBe(200)
      expect(await run.outbox.counts()).toEqual({ pending: 0, dead: 0 })
    })

    it('killed after the mint: a device signed out before the retry stays out', async () => {
      const run = await crashAt(fresh, 'after-mint')
      const [device] = await qrDevices(run)
      expect(device).toBeDefined()
      expect(await run.b.durable.devices.revoke(run.accountId, device?.id as string)).toBe(true)
      const retried = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
      expect(retried.body.error, JSON.stringify(retried.body)).toBe('invalid_grant')
      expect(await qrDevices(run)).toEqual([])
    })

    // What a process that minted in steps left when killed between two of them (Redis and Durable
    // Objects took device, family, access token and event in turn): the retry keeps the plan's records,
    // writes the rest and reports the sign-in once. Made here by hand after a kill at the redemption.
    it.each([1, 2, 3] as const)(
      'killed after step %i of a mint in steps: the retry completes the one session (its tokens, one device, one event)',
      async (steps) => {
        const run = await crashAt(fresh, 'after-redeem')
        const planned = await partMade(run, steps)
        run.clock.advance(5000)
        const retried = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
        expect(retried.status, JSON.stringify(retried.body)).toBe(200)
        expect(retried.body).toMatchObject({
          device_id: planned.deviceId,
          access_token: planned.access.bearer(),
          refresh_token: planned.refresh.bearer(),
        })
        const token = retried.body.access_token as string
        expect((await callWithDpop(run.atB, run.holder, run.clock.now(), 'GET', '/v1/account/whoami', token)).status).toBe(200)
        expect((await qrDevices(run)).map((d) => d.id)).toEqual([planned.deviceId])
        expect((await signedInEvents(run)).map((e) => e.deviceId)).toEqual([planned.deviceId])
        // A second retry within the grace (the answer lost again): the same tokens, nothing more stored.
        const again = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
        expect(again.status, JSON.stringify(again.body)).toBe(200)
        expect([again.body.access_token, again.body.refresh_token]).toEqual([token, retried.body.refresh_token])
        expect((await qrDevices(run)).map((d) => d.id)).toEqual([planned.deviceId])
        expect(await signedInEvents(run)).toHaveLength(1)
      },
    )

    it('killed after step 1 of a mint in steps: concurrent retries all get the one session, reported once', async () => {
      const run = await crashAt(fresh, 'after-redeem')
      const planned = await partMade(run, 1)
      const polls = await Promise.all(
        Array.from({ length: 4 }, async () => pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)),
      )
      // One completes the session; a poll that meets it completed hands out the same tokens.
      expect(
        polls.map((p) => p.status),
        JSON.stringify(polls.map((p) => p.body)),
      ).toEqual([200, 200, 200, 200])
      for (const p of polls) expect(p.body.access_token).toBe(planned.access.bearer())
      expect((await qrDevices(run)).map((d) => d.id)).toEqual([planned.deviceId])
      expect((await signedInEvents(run)).map((e) => e.deviceId)).toEqual([planned.deviceId])
    })

    it('a store error inside the mint: that poll answers 503; the retry completes the one session, nothing undone', async () => {
      const run = await crashAt(fresh, 'inside-mint', 'error')
      const failed = await run.inFlight
      expect(failed.status, JSON.stringify(failed.body)).toBe(503)
      const { planned } = await planOf(run)
      const retried = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
      expect(retried.status, JSON.stringify(retried.body)).toBe(200)
      expect(retried.body.access_token).toBe(planned.access.bearer())
      const again = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
      expect(again.body.access_token).toBe(planned.access.bearer())
      expect((await qrDevices(run)).map((d) => d.id)).toEqual([planned.deviceId])
      expect((await signedInEvents(run)).map((e) => e.deviceId)).toEqual([planned.deviceId])
    })

    it('killed after step 2 of a mint in steps, the session signed out meanwhile: the retry is refused, nothing comes back', async () => {
      const run = await crashAt(fresh, 'after-redeem')
      const planned = await partMade(run, 2)
      expect(await run.b.durable.devices.revoke(run.accountId, planned.deviceId)).toBe(true)
      const retried = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
      expect(retried.body.error, JSON.stringify(retried.body)).toBe('invalid_grant')
      expect(await qrDevices(run)).toEqual([])
      expect(await signedInEvents(run)).toEqual([])
    })

    it('killed after the redemption: another key resumes nothing; past the grace the code is spent', async () => {
      const run = await crashAt(fresh, 'after-redeem')
      const stranger = await dpopHolder()
      const refused = await pollToken(run.atB, stranger, run.clock.now(), run.deviceCode)
      expect(refused.body.error_description).toBe('the DPoP proof is not by the key this code was issued to')
      run.clock.advance(61_000)
      const late = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
      expect(late.body.error_description).toBe('this device code was already used')
      expect(await qrDevices(run)).toEqual([])
    })
  })
}
