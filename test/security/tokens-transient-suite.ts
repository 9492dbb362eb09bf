/**
 * Finding 12 of the hardening review (SECURITY.md) as a suite over a durable store (memory here,
 * Redis in tokens.redis.test.ts): transient store errors at refresh and at device-code redemption
 * answer 503 with Retry-After, and the client's retry gets the tokens, never a revocation.
 */
import { describe, expect, it } from 'vitest'
import type { DurableStore, EphemeralStore } from '../../src/ports.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import type { FakeClock } from '../helpers/fake-clock.ts'
import { bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { dpopCall, flakyDurable, oauthForm, tokenSetup, type TokenSetup } from './tokens-setup.ts'

/** The stores a run uses: the durable store to make flaky, and optionally the ephemeral one and a start time. */
export interface TransientStores {
  durable: (clock: FakeClock) => DurableStore
  extra?: () => { store?: (clock: FakeClock) => EphemeralStore; startMs?: number }
}

export const describeTransientFailures = (label: string, stores: TransientStores): void => {
  describe(`finding 12 (${label}): a transient store error is a 503 the client retries, never a sign-out`, () => {
    const flaky = () => flakyDurable(stores.durable)
    const setup = (flakyStore?: ReturnType<typeof flaky>) => tokenSetup({}, flakyStore?.make ?? stores.durable, stores.extra?.() ?? {})

    const refreshWith = (s: TokenSetup, refreshToken: string) =>
      oauthForm(s, '/oauth2/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, s.holder)

    it.each([
      ['putAccess', 'before'],
      ['rotateRefresh', 'after'],
    ] as const)(
      'finding 12: refresh with %s failing once (%s its write): 503 + Retry-After, the retry succeeds, nothing revoked',
      async (method, when) => {
        const store = flaky()
        const s = await setup(store)
        store.armed.set(method, when)
        const failed = await refreshWith(s, s.qr.refresh_token)
        expect(failed.status, JSON.stringify(failed.body)).toBe(503)
        expect(failed.headers.get('retry-after')).toBe('1')
        s.clock.advance(1000)
        const retried = await refreshWith(s, s.qr.refresh_token)
        expect(retried.status, JSON.stringify(retried.body)).toBe(200)
        // A second retry (a duplicate) within the grace gets the very same new refresh token.
        const again = await refreshWith(s, s.qr.refresh_token)
        expect(again.status).toBe(200)
        expect(again.body.refresh_token).toBe(retried.body.refresh_token)
        // The family lives on: the new tokens work and refresh again.
        expect((await dpopCall(s, 'GET', '/v1/devices', retried.body.access_token)).status).toBe(200)
        const next = await refreshWith(s, retried.body.refresh_token)
        expect(next.status, JSON.stringify(next.body)).toBe(200)
      },
    )

    it('finding 12: a replay after the grace is still a replay (the family is revoked)', async () => {
      const s = await setup()
      const rotated = await refreshWith(s, s.qr.refresh_token)
      expect(rotated.status).toBe(200)
      s.clock.advance(5000)
      expect((await refreshWith(s, s.qr.refresh_token)).body.error).toBe('invalid_grant')
      expect((await refreshWith(s, rotated.body.refresh_token)).body.error).toBe('invalid_grant')
    })

    // The redemption mints the device, its family and its token in one store intent (createWithTokens):
    // failing before its writes, or after them with the answer lost. The grant keeps its plan, so the
    // retry mints (before) or finds (after) the very same session: one device either way.
    it.each(['before', 'after'] as const)(
      'finding 12: device-code redemption with the session mint failing once (%s its writes): 503, the retry poll gets the tokens of the one session',
      async (when) => {
        const store = flaky()
        const s = await setup(store)
        const holder = await dpopHolder()
        const { codes } = await requestGrant(s.qrSend, holder, s.clock.now(), { channel_binding: bindingOf('R') })
        const decided = await decide(s.send, s.bearer.access_token, codes.user_code, {
          decision: 'approve',
          channel_binding: bindingOf('R'),
          dpop_jkt: holder.jkt,
        })
        expect(decided.status).toBe(200)
        store.armed.set('createWithTokens', when)
        const failed = await pollToken(s.qrSend, holder, s.clock.now(), codes.device_code)
        expect(failed.status, JSON.stringify(failed.body)).toBe(503)
        const accountId = (await s.t.durable.accounts.findByUsername('alice'))?.id as string
        // The password device and the first QR device, and the planned one once its writes are made.
        expect(await s.t.auth.sessions.listDevices(accountId)).toHaveLength(when === 'before' ? 2 : 3)
        s.clock.advance(6000)
        const retried = await pollToken(s.qrSend, holder, s.clock.now(), codes.device_code)
        expect(retried.status, JSON.stringify(retried.body)).toBe(200)
        expect(retried.body.token_type).toBe('DPoP')
        const devices = await s.t.auth.sessions.listDevices(accountId)
        expect(devices).toHaveLength(3)
        expect(devices.map((d) => d.id)).toContain(retried.body.device_id)
        expect((await callWithDpop(s.qrSend, holder, s.clock.now(), 'GET', '/v1/devices', retried.body.access_token)).status).toBe(200)
      },
    )
  })
}
