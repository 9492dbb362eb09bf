/**
 * Findings 62 and 63 through `app.request()` on one store (memory, Redis): a per-account cap on
 * signed-in devices checked in the session mint's step, and a bound on the rotated-out refresh hashes
 * each family keeps, with finding 46's reuse detection kept for the recent ones.
 */
import { describe, expect, it } from 'vitest'
import type { DurableStore, EphemeralStore } from '../../src/ports.ts'
import { call, refresh, viaApp, withUia, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock, type FakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { bindingOf, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

export const PASSWORD = 'correct horse battery staple'
const CAP = 5

/** The stores of one case (absent: memory), and a way to count the used hashes of a family kept by the store. */
export interface GrowthStores {
  store?: (clock: FakeClock) => EphemeralStore
  durable?: (clock: FakeClock) => DurableStore
  startMs?: number
  /** How many rotated-out refresh hashes the store keeps for the account (absent: not countable on this store). */
  usedHashes?: (accountId: string) => Promise<number>
  close?: () => Promise<void>
}

const passwordLogin = async (send: Send, username: string, deviceName = 'Laptop') =>
  (await withUia(send, 'POST', '/v1/login', { username, initial_device_display_name: deviceName }, PASSWORD)).final

export const accountGrowthCases = (name: string, make: (tag: string) => GrowthStores): void => {
  const app = (tag: string, env: Record<string, string> = {}) => {
    const stores = make(tag)
    const t = makeApp({
      env: { ...TEST_ENV, ...env },
      clock: fakeClock(stores.startMs ?? Date.UTC(2026, 11, 7, 8, 0)),
      ...(stores.store === undefined ? {} : { store: stores.store }),
      ...(stores.durable === undefined ? {} : { durable: stores.durable }),
    })
    return { t, stores }
  }
  const createAccount = async (send: Send, username: string): Promise<string> => {
    const created = await call(send, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body.account_id as string
  }

  describe(`findings 62 and 63 (${name})`, () => {
    it(`finding 62: one account signing in over and over keeps at most QRELAY_MAX_DEVICES_PER_ACCOUNT devices; the next sign-in is refused with a 403 and stores nothing (${name})`, async () => {
      const { t, stores } = app('f62-cap', { QRELAY_MAX_DEVICES_PER_ACCOUNT: String(CAP) })
      try {
        // Two addresses, so the per-address UIA-start limit is not what is being measured.
        const accountId = await createAccount(viaApp(t.app, '203.0.113.7'), 'mallory')
        const answers: number[] = []
        const accessTokens: string[] = []
        let refused: Record<string, unknown> | undefined
        for (let i = 0; i < 3 * CAP; i++) {
          const final = await passwordLogin(viaApp(t.app, i % 2 === 0 ? '203.0.113.7' : '198.51.100.9'), 'mallory')
          answers.push(final.status)
          if (final.status === 200) accessTokens.push(final.body.access_token as string)
          else refused = final.body
        }
        const devices = await t.durable.devices.listByAccount(accountId)
        expect(devices.length, `${devices.length} devices stored for one account`).toBe(CAP)
        expect(answers.slice(0, CAP)).toEqual(Array(CAP).fill(200))
        expect(answers.slice(CAP)).toEqual(Array(2 * CAP).fill(403))
        expect(refused).toMatchObject({ errcode: 'M_FORBIDDEN' })
        expect(String(refused?.error)).toContain('too many signed-in devices')
        // Signing one out makes room again: signed-out devices do not count.
        const home = viaApp(t.app, '203.0.113.7')
        const again = await passwordLogin(home, 'mallory')
        expect(again.status).toBe(403)
        expect((await call(home, 'POST', '/v1/logout', {}, accessTokens[0])).status).toBe(200)
        const room = await passwordLogin(home, 'mallory')
        expect(room.status, JSON.stringify(room.body)).toBe(200)
        expect((await t.durable.devices.listByAccount(accountId)).length).toBe(CAP)
      } finally {
        await stores.close?.()
      }
    }, 60_000)

    it(`finding 62: one account signing in 150 times keeps at most the default 100 devices (${name})`, async () => {
      const { t, stores } = app('f62-default')
      try {
        const accountId = await createAccount(viaApp(t.app, '203.0.113.7'), 'mallory')
        const statuses = new Set<number>()
        for (let i = 0; i < 150; i++)
          statuses.add((await passwordLogin(viaApp(t.app, i % 2 === 0 ? '203.0.113.7' : '198.51.100.9'), 'mallory')).status)
        const devices = (await t.durable.devices.listByAccount(accountId)).length
        expect(devices, `${devices} devices stored for one account`).toBe(100)
        expect([...statuses].sort()).toEqual([200, 403])
      } finally {
        await stores.close?.()
      }
    }, 60_000)

    it(`finding 62: a QR login at the cap is refused too (access_denied, told why), and stores no device (${name})`, async () => {
      const qrEnv = { QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown' }
      const { t, stores } = app('f62-qr', { ...qrEnv, QRELAY_MAX_DEVICES_PER_ACCOUNT: '2' })
      try {
        const phoneSend = viaApp(t.app, '198.51.100.20')
        const accountId = await createAccount(phoneSend, 'alice')
        const phone = (await passwordLogin(phoneSend, 'alice', 'Phone')).body
        const qr = async (name: string) => {
          const tvSend = viaApp(t.app, '198.51.100.77')
          const holder = await dpopHolder()
          const binding = bindingOf(name.slice(0, 1))
          const { codes } = await requestGrant(tvSend, holder, t.clock.now(), { channel_binding: binding, device_name: name })
          const approval = { decision: 'approve' as const, channel_binding: binding, dpop_jkt: holder.jkt }
          expect((await decide(phoneSend, phone.access_token as string, codes.user_code, approval)).status).toBe(200)
          return pollToken(tvSend, holder, t.clock.now(), codes.device_code)
        }
        // The second device comes by QR, within the cap.
        expect((await qr('TV')).status).toBe(200)
        const refused = await qr('Kiosk')
        expect([refused.status, refused.body.error]).toEqual([400, 'access_denied'])
        expect(String(refused.body.error_description)).toContain('too many signed-in devices')
        expect((await t.durable.devices.listByAccount(accountId)).map((d) => d.displayName).sort()).toEqual(['Phone', 'TV'])
      } finally {
        await stores.close?.()
      }
    }, 60_000)

    it(`finding 62: at the cap, devices whose refresh family has expired are signed out to make room, so an owner is never locked out by sessions that are dead (${name})`, async () => {
      const { t, stores } = app('f62-dead', { QRELAY_MAX_DEVICES_PER_ACCOUNT: String(CAP) })
      try {
        const send = viaApp(t.app, '203.0.113.7')
        const accountId = await createAccount(send, 'alice')
        for (let i = 0; i < CAP; i++) expect((await passwordLogin(send, 'alice', `Old ${i}`)).status).toBe(200)
        // Past the refresh family's life (30 days): none of those devices can refresh any more.
        t.clock.advance(31 * 24 * 3_600_000)
        const fresh = await passwordLogin(send, 'alice', 'New phone')
        expect(fresh.status, JSON.stringify(fresh.body)).toBe(200)
        const names = (await t.durable.devices.listByAccount(accountId)).map((d) => d.displayName)
        expect(names).toContain('New phone')
        expect(names.length).toBeLessThanOrEqual(CAP)
      } finally {
        await stores.close?.()
      }
    }, 60_000)

    it(`finding 62: a normal user with a few devices signs in on each of them (${name})`, async () => {
      const { t, stores } = app('f62-normal')
      try {
        const send = viaApp(t.app, '203.0.113.7')
        const accountId = await createAccount(send, 'alice')
        for (const device of ['Phone', 'Laptop', 'Tablet', 'Work laptop'])
          expect((await passwordLogin(send, 'alice', device)).status).toBe(200)
        expect((await t.durable.devices.listByAccount(accountId)).length).toBe(4)
      } finally {
        await stores.close?.()
      }
    }, 60_000)

    it(`finding 63: 400 rotations of one session keep at most 64 rotated-out hashes; a token older than that is refused (invalid_grant) without signing the device out (${name})`, async () => {
      const { t, stores } = app('f63-bound')
      try {
        const send = viaApp(t.app, '203.0.113.7')
        const accountId = await createAccount(send, 'mallory')
        const first = (await passwordLogin(send, 'mallory')).body
        const tokens = [first.refresh_token as string]
        for (let i = 0; i < 400; i++) {
          const next = await refresh(send, tokens.at(-1)!)
          expect(next.status, JSON.stringify(next.body)).toBe(200)
          tokens.push(next.body.refresh_token as string)
        }
        if (stores.usedHashes !== undefined) expect(await stores.usedHashes(accountId)).toBe(64)
        t.clock.advance(5_000) // past the refresh grace
        // The first token is far outside the kept window: an unknown token, the device stays signed in.
        const ancient = await refresh(send, tokens[0]!)
        expect([ancient.status, ancient.body.error]).toEqual([400, 'invalid_grant'])
        expect((await t.durable.devices.listByAccount(accountId)).length).toBe(1)
        expect((await refresh(send, tokens.at(-1)!)).status).toBe(200)
      } finally {
        await stores.close?.()
      }
    }, 60_000)

    it(`finding 63 (finding 46 kept): a token rotated out a few rotations ago, presented after the grace, still signs the device out (${name})`, async () => {
      const { t, stores } = app('f63-reuse')
      try {
        const send = viaApp(t.app, '203.0.113.7')
        const accountId = await createAccount(send, 'alice')
        const tokens = [(await passwordLogin(send, 'alice')).body.refresh_token as string]
        for (let i = 0; i < 100; i++) {
          const next = await refresh(send, tokens.at(-1)!)
          expect(next.status).toBe(200)
          tokens.push(next.body.refresh_token as string)
        }
        t.clock.advance(5_000)
        // Rotated out 60 rotations ago: inside the kept window, so still a replay.
        const replay = await refresh(send, tokens[tokens.length - 61]!)
        expect([replay.status, replay.body.error]).toEqual([400, 'invalid_grant'])
        expect(await t.durable.devices.listByAccount(accountId)).toEqual([])
        expect((await refresh(send, tokens.at(-1)!)).status).toBe(400)
      } finally {
        await stores.close?.()
      }
    }, 60_000)
  })
}
