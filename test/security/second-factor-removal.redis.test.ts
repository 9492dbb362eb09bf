/**
 * Finding 58 on Redis (the memory twin is second-factor-removal.test.ts): the codes a TOTP removal cut
 * before its wipe leaves in the account's Redis set never stand in for the password, the retry wipes
 * them (an empty replace through the store's script), and a regeneration racing a removal leaves none.
 */
import { describe, expect, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { generateTotp } from '../../src/core/auth/totp.ts'
import { StoreUnavailableError } from '../../src/core/store-unavailable.ts'
import type { DurableStore } from '../../src/ports.ts'
import { call, enrolTotp, login, viaApp, withUia, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { bindingOf, decide, requestGrant } from '../helpers/qr-login.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const THIEF = '203.0.113.77'

/** What the store does around the next writes of recovery codes. */
interface Hooks {
  /** Every write fails while on (the store unreachable). */
  failing: boolean
  /** Runs once, right before the next write of a non-empty set. */
  beforeFill?: () => Promise<void>
}

/** One app on its own Redis prefix whose recovery-code writes go through `hooks`. */
const onRedis = (hooks: Hooks) => {
  const client = redisClient()
  const keyPrefix = uniquePrefix('f58')
  const clock = fakeClock(Date.now())
  const durable = (c: typeof clock): DurableStore => {
    const inner = redisDurableStore({ client, keyPrefix, clock: c })
    const replace = inner.credentials.replaceRecoveryCodes.bind(inner.credentials)
    inner.credentials.replaceRecoveryCodes = async (accountId, hashes) => {
      if (hooks.failing) throw new StoreUnavailableError('store unavailable (test)')
      const run = hashes.length > 0 ? hooks.beforeFill : undefined
      hooks.beforeFill = undefined
      if (run !== undefined) await run()
      return replace(accountId, hashes)
    }
    return inner
  }
  const t = makeApp({
    env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0' },
    clock,
    store: (c) => redisStore({ client, keyPrefix, clock: c }),
    durable,
  })
  return { t, close: () => client.quit() }
}

/** Alice with a signed-in phone and TOTP on: her session, key and recovery codes. */
const aliceWithTotp = async (t: ReturnType<typeof makeApp>, home: Send) => {
  const created = await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
  const phone = await login(home, 'alice', PASSWORD, undefined, 'Phone')
  const token = phone.access_token as string
  const { key, codes } = await enrolTotp(home, token, PASSWORD, t.clock.now())
  t.clock.advance(60_000)
  const totp = { type: 'm.login.2fa.totp' as const, code: generateTotp(key.bytes(), t.clock.now()) }
  return {
    accountId: created.body.account_id as string,
    deviceId: phone.device_id as string,
    token,
    totp,
    codes,
  }
}

if (redisUrl() === null) {
  describe.skip('second-factor removal: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('finding 58: recovery codes go with the TOTP they came with (Redis)', () => {
    it('finding 58: codes a cut TOTP removal left in Redis never stand in for the password, and the retry wipes them', async () => {
      const hooks: Hooks = { failing: false }
      const { t, close } = onRedis(hooks)
      try {
        const home = viaApp(t.app, HOME)
        const { accountId, token, totp, codes } = await aliceWithTotp(t, home)
        hooks.failing = true
        const cut = await withUia(home, 'DELETE', '/v1/account/totp', {}, PASSWORD, totp, token)
        hooks.failing = false
        expect(cut.final.status).toBe(503)
        expect(await t.durable.credentials.countRecoveryCodes(accountId)).toBe(codes.length)

        const holder = await dpopHolder()
        const binding = bindingOf('R')
        const grant = await requestGrant(viaApp(t.app, THIEF), holder, t.clock.now(), { channel_binding: binding })
        const body = { decision: 'approve' as const, channel_binding: binding, dpop_jkt: holder.jkt }
        const challenge = await decide(home, token, grant.codes.user_code, body)
        expect(challenge.status).toBe(401)
        expect((challenge.body.flows as { stages: string[] }[]).map((f) => f.stages)).toEqual([['m.login.password']])
        const answer = await decide(home, token, grant.codes.user_code, {
          ...body,
          auth: { type: 'm.login.2fa.recovery', session: challenge.body.session as string, code: codes[0] as string },
        })
        expect(answer.status, JSON.stringify(answer.body)).not.toBe(200)
        expect(await t.durable.credentials.countRecoveryCodes(accountId)).toBe(codes.length)

        const retry = await withUia(home, 'DELETE', '/v1/account/totp', {}, PASSWORD, undefined, token)
        expect(retry.final.status, JSON.stringify(retry.final.body)).toBe(200)
        expect(await t.durable.credentials.countRecoveryCodes(accountId)).toBe(0)
      } finally {
        await close()
      }
    })

    it('finding 58: a regeneration a TOTP removal overtakes before its write leaves no code in Redis and is refused', async () => {
      const hooks: Hooks = { failing: false }
      const { t, close } = onRedis(hooks)
      try {
        const home = viaApp(t.app, HOME)
        const { accountId, deviceId, token, totp } = await aliceWithTotp(t, home)
        hooks.beforeFill = () => t.auth.secondFactors.disableTotp(accountId, deviceId)
        const regen = await withUia(home, 'POST', '/v1/account/recovery-codes', {}, PASSWORD, totp, token)
        expect(hooks.beforeFill).toBeUndefined()
        expect(regen.final.status, JSON.stringify(regen.final.body)).toBe(400)
        expect(await t.durable.credentials.countRecoveryCodes(accountId)).toBe(0)
      } finally {
        await close()
      }
    })
  })
}
