/**
 * The account event feed (`GET /v1/events`) through app.request(), on any store: a QR sign-in
 * reaches the account's other devices with a cursor; a long poll wakes when "not me" is reported, also
 * when the report lands on another app instance sharing the store.
 */
import { describe, expect, it } from 'vitest'
import { call, login, viaApp, type Send } from '../../helpers/account-client.ts'
import { dpopHolder, type DpopHolder } from '../../helpers/dpop.ts'
import type { TestApp } from '../../helpers/make-app.ts'
import { bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'

/** Makes two app instances over one shared store (the same one twice on memory). */
export type MakeTwoApps = (env: Record<string, string>) => Promise<{ a: TestApp; b: TestApp; close(): Promise<void> }>

export const describeEventFeed = (name: string, makeApps: MakeTwoApps): void => {
  describe(`account event feed: ${name}`, () => {
    const setup = async () => {
      const apps = await makeApps({ ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0' })
      const onA = viaApp(apps.a.app, '198.51.100.20')
      const onB = viaApp(apps.b.app, '198.51.100.20')
      const username = `alice${Math.random().toString(36).slice(2, 8)}`
      expect((await call(onA, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
      const phone = await login(onA, username, PASSWORD)
      return { ...apps, onA, onB, token: phone.access_token as string, username }
    }

    const qrSession = async (t: TestApp, approver: Send, token: string, given?: DpopHolder) => {
      const holder = given ?? (await dpopHolder())
      const send = viaApp(t.app, '198.51.100.77')
      const binding = bindingOf('E')
      const { codes } = await requestGrant(send, holder, t.clock.now(), { channel_binding: binding })
      expect(
        (await decide(approver, token, codes.user_code, { decision: 'approve', channel_binding: binding, dpop_jkt: holder.jkt })).status,
      ).toBe(200)
      const minted = await pollToken(send, holder, t.clock.now(), codes.device_code)
      expect(minted.status).toBe(200)
      return { deviceId: minted.body.device_id as string, accessToken: minted.body.access_token as string }
    }
    const qrSignIn = async (t: TestApp, approver: Send, token: string) => (await qrSession(t, approver, token)).deviceId

    it('shows a QR sign-in to the other devices, with a cursor that never repeats an event', async () => {
      const { a, onA, onB, token, close } = await setup()
      try {
        const deviceId = await qrSignIn(a, onA, token)
        const first = await call(onB, 'GET', '/v1/events?since=0', undefined, token)
        expect(first.status).toBe(200)
        const signedIn = (first.body.events as Array<Record<string, any>>).filter(
          (e) => e.type === 'device_signed_in' && e.details?.origin === 'qr',
        )
        // Once: the store appends it with the session, and the feed is only told of it afterwards.
        expect(signedIn).toHaveLength(1)
        expect(signedIn[0]).toMatchObject({ device_id: deviceId, details: { origin: 'qr', device_name: 'New device' } })
        expect(first.body.next_since).toBe(first.body.events.at(-1).id)
        const again = await call(onB, 'GET', `/v1/events?since=${first.body.next_since}&timeout_ms=0`, undefined, token)
        expect(again.body).toEqual({ events: [], next_since: first.body.next_since })
        expect(JSON.stringify(first.body)).not.toMatch(/device_code|user_code|access_token/)
      } finally {
        await close()
      }
    })

    it('finding 40: shows a password sign-in to the other devices, on the other instance too, once', async () => {
      const { onA, onB, token, username, close } = await setup()
      try {
        const { body } = await call(onB, 'GET', '/v1/events?since=0', undefined, token)
        const waiting = call(onB, 'GET', `/v1/events?since=${body.next_since}&timeout_ms=10000`, undefined, token)
        await new Promise((resolve) => setTimeout(resolve, 100))
        const laptop = await login(onA, username, PASSWORD, undefined, 'Laptop')
        const woken = await waiting
        expect(woken.body.events).toEqual([
          expect.objectContaining({
            type: 'device_signed_in',
            device_id: laptop.device_id,
            details: { origin: 'password', device_name: 'Laptop' },
          }),
        ])
      } finally {
        await close()
      }
    })

    it('wakes a long poll on one instance when "not me" is reported on the other', async () => {
      const { a, onA, onB, token, close } = await setup()
      try {
        const deviceId = await qrSignIn(a, onA, token)
        const { body } = await call(onB, 'GET', '/v1/events?since=0', undefined, token)
        const started = Date.now()
        const waiting = call(onB, 'GET', `/v1/events?since=${body.next_since}&timeout_ms=10000`, undefined, token)
        await new Promise((resolve) => setTimeout(resolve, 100))
        expect((await call(onA, 'POST', `/v1/devices/${deviceId}/not-me`, {}, token)).status).toBe(200)
        const woken = await waiting
        expect(Date.now() - started).toBeLessThan(5_000)
        expect(woken.body.events).toEqual([expect.objectContaining({ type: 'device_not_me', device_id: deviceId })])
      } finally {
        await close()
      }
    })

    it('"not me" on one instance revokes the QR session on the other at once', async () => {
      const { a, b, onA, token, close } = await setup()
      try {
        const holder = await dpopHolder()
        const { deviceId, accessToken } = await qrSession(a, onA, token, holder)
        const newDeviceOnB = viaApp(b.app, '198.51.100.77')
        expect((await callWithDpop(newDeviceOnB, holder, b.clock.now(), 'GET', '/v1/account/whoami', accessToken)).status).toBe(200)
        expect((await call(onA, 'POST', `/v1/devices/${deviceId}/not-me`, {}, token)).status).toBe(200)
        expect((await callWithDpop(newDeviceOnB, holder, b.clock.now(), 'GET', '/v1/account/whoami', accessToken)).status).toBe(401)
      } finally {
        await close()
      }
    })

    it('refuses a bad cursor, needs a token, and shows an account only its own events', async () => {
      const { onA, token, close } = await setup()
      try {
        expect((await call(onA, 'GET', '/v1/events?since=-1', undefined, token)).status).toBe(400)
        expect((await call(onA, 'GET', '/v1/events?timeout_ms=abc', undefined, token)).status).toBe(400)
        expect((await call(onA, 'GET', '/v1/events')).status).toBe(401)
        const other = `bob${Math.random().toString(36).slice(2, 8)}`
        await call(onA, 'POST', '/v1/admin/users', { username: other, password: PASSWORD }, ADMIN_TOKEN)
        const bob = await login(onA, other, PASSWORD, undefined, 'Bob laptop')
        // Bob's own sign-in, and nothing of the other account's.
        expect((await call(onA, 'GET', '/v1/events?since=0', undefined, bob.access_token)).body.events).toEqual([
          expect.objectContaining({
            type: 'device_signed_in',
            device_id: bob.device_id,
            details: { origin: 'password', device_name: 'Bob laptop' },
          }),
        ])
      } finally {
        await close()
      }
    })
  })
}
