/**
 * Findings 56 and 57 over Redis with two app instances sharing it: the owner's password change with
 * `logout_devices` on one instance makes the thief's `device_trust` tokens unknown on the other (the
 * token's epoch in the key-value store, the account's in its hash), and drops the TOTP enrolment he
 * began there (the pending binding travels in the account's JSON). A token of the owner's after the
 * change is trusted on both.
 */
import { describe, expect, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { call, login, viaApp, withUia } from '../helpers/account-client.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { seededRandom } from '../helpers/seeded-random.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const NEW_PASSWORD = 'a completely different passphrase 56'
const HOME = '198.51.100.20'
const THIEF = '203.0.113.77'

/** Two instances on one Redis; the caller quits the clients. */
const twoInstances = (label: string) => {
  const clients = [redisClient(), redisClient()]
  const keyPrefix = uniquePrefix(label)
  const clock = fakeClock(Date.now())
  const [a, b] = clients.map((client, i) =>
    makeApp({
      env: TEST_ENV,
      clock,
      random: seededRandom(56 + i),
      store: (c) => redisStore({ client, keyPrefix, clock: c }),
      durable: (c) => redisDurableStore({ client, keyPrefix, clock: c }),
    }),
  ) as [ReturnType<typeof makeApp>, ReturnType<typeof makeApp>]
  return { a, b, clock, quit: () => Promise.all(clients.map((c) => c.quit())) }
}

if (redisUrl() === null) {
  describe.skip('findings 56 and 57: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe("findings 56 and 57: the owner's password change on one instance cuts the thief's tokens and enrolment on the other, over Redis", () => {
    it("finding 56: device_trust tokens the thief got on one instance select no budget after the owner's password change on the other", async () => {
      const { a, b, quit } = twoInstances('cutoff56')
      try {
        const owner = viaApp(b.app, HOME)
        const created = await call(owner, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
        const accountId = created.body.account_id as string
        const phone = await login(owner, 'alice', PASSWORD, undefined, 'Phone')
        const thiefOnA = viaApp(a.app, THIEF)
        const token = (await login(thiefOnA, 'alice', PASSWORD, undefined, 'Thief')).device_trust as string
        expect((await a.auth.trust.originOf(await a.durable.accounts.get(accountId), THIEF, { token })).kind).toBe('trusted-device')

        const body = { new_password: NEW_PASSWORD, logout_devices: true }
        expect(
          (await withUia(owner, 'POST', '/v1/account/password', body, PASSWORD, undefined, phone.access_token as string)).final.status,
        ).toBe(200)

        // Read through A: the account's epoch moved on B, the token's did not.
        const account = await a.durable.accounts.get(accountId)
        expect(account?.authEpoch).toBe(1)
        expect(await a.auth.trust.originOf(account, THIEF, { token })).toEqual({ kind: 'unknown' })
        // The owner's own sign-in after the change, on A: its token is trusted on B.
        const laptop = await login(viaApp(a.app, HOME), 'alice', NEW_PASSWORD, undefined, 'Laptop')
        const fresh = laptop.device_trust as string
        expect((await b.auth.trust.originOf(await b.durable.accounts.get(accountId), THIEF, { token: fresh })).kind).toBe('trusted-device')
      } finally {
        await quit()
      }
    })

    it('finding 57: the enrolment the thief began on one instance is bound to his device and dropped by the password change on the other', async () => {
      const { a, b, clock, quit } = twoInstances('cutoff57')
      try {
        const owner = viaApp(b.app, HOME)
        const created = await call(owner, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
        const accountId = created.body.account_id as string
        const phone = await login(owner, 'alice', PASSWORD, undefined, 'Phone')
        const thiefOnA = viaApp(a.app, THIEF)
        const stolen = await login(thiefOnA, 'alice', PASSWORD, undefined, 'Thief')
        const begun = await withUia(thiefOnA, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, stolen.access_token as string)
        expect(begun.final.status).toBe(200)
        // The binding round-trips through the account's stored JSON, read on the other instance.
        const pending = (await b.durable.accounts.get(accountId))?.totp?.pending
        expect(pending).toEqual({ deviceId: stolen.device_id, authEpoch: 0, expiresAtMs: clock.now() + 10 * 60_000 })
        // Another device of the account confirms nothing of it.
        const elsewhere = await call(owner, 'POST', '/v1/account/totp/confirm', { code: '000000' }, phone.access_token as string)
        expect(elsewhere.status).toBe(400)

        const body = { new_password: NEW_PASSWORD, logout_devices: true }
        expect(
          (await withUia(owner, 'POST', '/v1/account/password', body, PASSWORD, undefined, phone.access_token as string)).final.status,
        ).toBe(200)
        expect((await a.durable.accounts.get(accountId))?.totp).toBeUndefined()
      } finally {
        await quit()
      }
    })
  })
}
