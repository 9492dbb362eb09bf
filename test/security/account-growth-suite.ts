/**
 * Findings 62 and 63 through `app.request()` on one store (memory, Redis): a per-account cap on
 * signed-in devices checked in the session mint's step, and a bound on the rotated-out refresh hashes
 * each family keeps, with finding 46's reuse detection kept for the recent ones.
 */
import { describe, expect, it } from 'vitest'
import type { DurableStore, EphemeralStore } from '../../src/ports.ts'
import { call, refresh, viaApp, withUia, type Send } from '../helpers/account-client.ts'
import { fakeClock, type FakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

export const PASSWORD = 'correct horse battery staple'

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
