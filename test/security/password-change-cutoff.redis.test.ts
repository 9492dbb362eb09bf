/**
 * Finding 47 over Redis with two app instances sharing it: the owner's password change with
 * `logout_devices` on one instance voids, on the other, a password login held between its password
 * check and its mint, and a QR approval not yet redeemed (the sign-in epoch is a field of the account's
 * hash, compared inside the session mint's script). A login authorised after the change signs in.
 */
import { describe, expect, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import type { DurableStore } from '../../src/ports.ts'
import { call, login, viaApp, withUia, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { bindingOf, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { seededRandom } from '../helpers/seeded-random.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const NEW_PASSWORD = 'a completely different passphrase 42'
const HOME = '198.51.100.20'
const THIEF = '203.0.113.77'

/** Holds the next session mint through this store until `open()`; `reached` when one is held. */
const holdingMint = (inner: DurableStore) => {
  let open!: () => void
  let arrived!: () => void
  const opened = new Promise<void>((r) => {
    open = r
  })
  const reached = new Promise<void>((r) => {
    arrived = r
  })
  let armed = false
  const createWithTokens = inner.devices.createWithTokens.bind(inner.devices)
  inner.devices.createWithTokens = async (...args) => {
    if (armed) {
      armed = false
      arrived()
      await opened
    }
    return createWithTokens(...args)
  }
  return {
    arm: () => {
      armed = true
    },
    reached,
    open: () => open(),
  }
}

const passwordLogin = async (send: Send, deviceName: string, password = PASSWORD) => {
  const body = { username: 'alice', initial_device_display_name: deviceName }
  const first = await call(send, 'POST', '/v1/login', body)
  expect(first.status).toBe(401)
  return call(send, 'POST', '/v1/login', { ...body, auth: { type: 'm.login.password', session: first.body.session, password } })
}

if (redisUrl() === null) {
  describe.skip('finding 47: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('finding 47: a password change on one instance voids sign-ins in flight on the other, over Redis', () => {
    it('finding 47: a login held at its mint on one instance and a phished approval are refused after the owner changes the password on the other', async () => {
      const clients = [redisClient(), redisClient()]
      const keyPrefix = uniquePrefix('cutoff47')
      const clock = fakeClock(Date.now())
      const env = { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown' }
      let hold: ReturnType<typeof holdingMint> | undefined
      const [a, b] = clients.map((client, i) =>
        makeApp({
          env,
          clock,
          random: seededRandom(47 + i),
          store: (c) => redisStore({ client: client as NonNullable<typeof client>, keyPrefix, clock: c }),
          durable: (c) => {
            const durable = redisDurableStore({ client: client as NonNullable<typeof client>, keyPrefix, clock: c })
            if (i === 0) hold = holdingMint(durable)
            return durable
          },
        }),
      ) as [ReturnType<typeof makeApp>, ReturnType<typeof makeApp>]
      try {
        const thiefOnA = viaApp(a.app, THIEF)
        const owner = viaApp(b.app, HOME)
        await call(owner, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
        const phone = await login(owner, 'alice', PASSWORD, undefined, 'Phone')
        const token = phone.access_token as string
        // The phisher's grant, approved on the phone (on B); nothing minted yet.
        const holder = await dpopHolder()
        const { codes } = await requestGrant(thiefOnA, holder, clock.now(), { channel_binding: bindingOf('P') })
        const approval = { decision: 'approve' as const, channel_binding: bindingOf('P'), dpop_jkt: holder.jkt }
        expect((await decide(owner, token, codes.user_code, approval)).status).toBe(200)
        // The thief's login on A passes its password check and is held at the mint.
        const mint = hold as NonNullable<typeof hold>
        mint.arm()
        const thiefLogin = passwordLogin(thiefOnA, 'Thief')
        await mint.reached

        const body = { new_password: NEW_PASSWORD, logout_devices: true }
        expect((await withUia(owner, 'POST', '/v1/account/password', body, PASSWORD, undefined, token)).final.status).toBe(200)

        mint.open()
        const minted = await thiefLogin
        expect(minted.status).toBe(403)
        expect(minted.body.errcode).toBe('M_FORBIDDEN')
        clock.advance(10_000)
        const polled = await pollToken(thiefOnA, holder, clock.now(), codes.device_code)
        expect(polled.status).toBe(400)
        expect(polled.body.error).toBe('access_denied')
        const listed = await call(owner, 'GET', '/v1/devices', undefined, token)
        expect(listed.body.devices.map((d: { display_name: string }) => d.display_name)).toEqual(['Phone'])

        // Authorised after the change, on A: signs in.
        const laptop = await passwordLogin(viaApp(a.app, HOME), 'Laptop', NEW_PASSWORD)
        expect(laptop.status, JSON.stringify(laptop.body)).toBe(200)
      } finally {
        await Promise.all(clients.map((c) => c.quit()))
      }
    })
  })
}
