/**
 * Fault: a process killed inside a device-code redemption (docs/security/faults.md), as a suite over
 * shared stores (memory in redemption-crash.test.ts, a real Redis in redemption-crash.redis.test.ts).
 * Two apps ("processes" A and B) share the stores; A is "killed" at a fault point: from there on
 * nothing of A runs (its request never answers, no undo, no roll-back). The new device retries at B.
 */
import { describe, expect, it } from 'vitest'
import { hashSecret } from '../../src/core/crypto/secrets.ts'
import type { DeviceGrant } from '../../src/core/oauth/device-grant.ts'
import type { DurableStore, EphemeralStore } from '../../src/ports.ts'
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
/** Where process A dies: right after its compare-and-swap moved the grant to `redeemed`, or right after the mint's writes. */
type KillPoint = 'after-redeem' | 'after-mint'

/** The shared stores of one run; `kill` ends process A's own connections (a no-op in memory). */
export interface RunStores {
  store: (clock: FakeClock) => EphemeralStore
  durable: (clock: FakeClock) => DurableStore
  /** Each call: process A's view of the stores, on connections of its own. */
  forA: () => { store: (clock: FakeClock) => EphemeralStore; durable: (clock: FakeClock) => DurableStore; kill(): void }
  startMs: number
}

const never = <T>(): Promise<T> => new Promise<T>(() => {})

/** Process A's stores, which stop the world at `point` (and end A's connections). */
const killable = (stores: RunStores, point: KillPoint) => {
  const a = stores.forA()
  const state = { killed: false }
  const store = (clock: FakeClock): EphemeralStore => {
    const inner = a.store(clock)
    return {
      ...inner,
      kv: {
        ...inner.kv,
        async replaceIfMatch(key, expected, next) {
          const outcome = await inner.kv.replaceIfMatch(key, expected, next)
          if (point !== 'after-redeem' || outcome !== 'ok' || !next.includes('"kind":"redeemed"')) return outcome
          state.killed = true
          a.kill()
          return never()
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
        async createWithTokens(device, tokens, append) {
          const outcome = await inner.devices.createWithTokens(device, tokens, append)
          if (point !== 'after-mint') return outcome
          state.killed = true
          a.kill()
          return never()
        },
      },
    }
  }
  return { store, durable, state }
}

interface Run {
  b: TestApp
  clock: FakeClock
  approver: Send
  approverToken: string
  accountId: string
  holder: DpopHolder
  deviceCode: string
  /** The new device's requests at B. */
  atB: Send
  /** The poll that was in flight at A when it died (never answers). */
  inFlight: Promise<Answer>
}

/** Alice signs in at B; the new device's grant is approved; its poll at A dies at `point`. */
const crashAt = async (fresh: () => RunStores, point: KillPoint): Promise<Run> => {
  const stores = fresh()
  const clock = fakeClock(stores.startMs)
  const env = { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0' }
  const b = makeApp({ env, clock, store: stores.store, durable: stores.durable, random: seededRandom(11) })
  const killer = killable(stores, point)
  const a = makeApp({ env, clock, store: killer.store, durable: killer.durable, random: seededRandom(12) })
  const approver = viaApp(b.app, '198.51.100.20')
  expect((await call(approver, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
  const approverToken = (await login(approver, 'alice', PASSWORD)).access_token as string
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
  for (let i = 0; i < 200 && !killer.state.killed; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  expect(killer.state.killed).toBe(true)
  return { b, clock, approver, approverToken, accountId, holder, deviceCode: codes.device_code, atB, inFlight }
}

const qrDevices = async (run: Run) => (await run.b.durable.devices.listByAccount(run.accountId)).filter((d) => d.origin === 'qr')
const signedInEvents = async (run: Run) =>
  (await run.b.durable.security.readEvents(run.accountId, 0, 1000)).filter((e) => e.type === 'device_signed_in')

/** The suite; `fresh` makes each run's stores (empty, shared by both processes). */
export const describeRedemptionCrash = (label: string, fresh: () => RunStores): void => {
  describe(`faults (${label}): a process killed inside the device-code redemption`, () => {
    it.each(['after-redeem', 'after-mint'] as const)(
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

    it('killed after the mint: a device signed out before the retry stays out', async () => {
      const run = await crashAt(fresh, 'after-mint')
      const [device] = await qrDevices(run)
      expect(device).toBeDefined()
      expect(await run.b.durable.devices.revoke(run.accountId, device?.id as string)).toBe(true)
      const retried = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
      expect(retried.body.error, JSON.stringify(retried.body)).toBe('invalid_grant')
      expect(await qrDevices(run)).toEqual([])
    })

    // Open point 2 of docs/security/faults.md: on Redis and Durable Objects the mint is several steps; a
    // process killed after the first (the device stored, nothing else) leaves a part-made session the
    // retry does not complete. Made here by hand after a kill at the redemption, on every store.
    it("killed between the mint's steps: the retry waits, then is refused; never a second device", async () => {
      const run = await crashAt(fresh, 'after-redeem')
      const id = await run.b.store.kv.get(`grant-dc:${hashSecret(run.deviceCode)}`)
      const grant = JSON.parse((await run.b.store.kv.get(`grant:${id}`)) as string) as DeviceGrant
      const plan = grant.state.kind === 'redeemed' ? grant.state.mint : undefined
      expect(plan).toBeDefined()
      const now = run.clock.now()
      const partMade = { id: plan?.deviceId as string, accountId: run.accountId, displayName: 'Laptop', origin: 'qr' as const }
      expect(await run.b.durable.devices.create({ ...partMade, quarantineUntilMs: 0, createdAtMs: now, lastSeenAtMs: now })).toBe('ok')
      const waiting = await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)
      expect(waiting.body.error, JSON.stringify(waiting.body)).toBe('authorization_pending')
      run.clock.advance(61_000)
      expect((await pollToken(run.atB, run.holder, run.clock.now(), run.deviceCode)).body.error).toBe('invalid_grant')
      expect((await qrDevices(run)).map((d) => d.id)).toEqual([partMade.id])
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
