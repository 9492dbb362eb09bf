/**
 * Review "state an outsider can make the server keep" (siblings of findings 8, 53 and 59): each test
 * shows request data, from an unauthenticated client or from an attacker using only his own account,
 * making the server keep something with no bound by count charged before it is stored. Each fails on
 * the code it was written against and passes once the state is bounded (see REVIEW-growth.md).
 */
import { EventEmitter } from 'node:events'
import type { Server } from 'node:http'
import Database from 'libsql'
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../src/adapters/storage/memory.ts'
import { sqliteStore } from '../../src/adapters/durable/sqlite.ts'
import { parseConfig } from '../../src/config.ts'
import type { EphemeralStore, KvStore } from '../../src/ports.ts'
import { capConnectionsPerAddress } from '../../src/runtime/node-limits.ts'
import { call, viaApp, withUia, type Send } from '../helpers/account-client.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const START = Date.UTC(2026, 11, 7, 8, 0)

/** A memory store whose key-value side remembers every key ever put, to count the live ones later. */
const trackedStore = () => {
  const keys = new Set<string>()
  let kv: KvStore | undefined
  const make = (clock: ReturnType<typeof fakeClock>): EphemeralStore => {
    const store = memoryStore({ clock, sweepIntervalMs: 0 })
    const inner = store.kv
    kv = {
      ...inner,
      put: async (key, value, ttlMs) => {
        keys.add(key)
        return inner.put(key, value, ttlMs)
      },
      get: (key) => inner.get(key),
      replaceIfMatch: (key, expected, next, ttlMs) => inner.replaceIfMatch(key, expected, next, ttlMs),
      takeOnce: (key) => inner.takeOnce(key),
    }
    return { ...store, kv }
  }
  /** Live entries whose key starts with `prefix`. */
  const live = async (prefix: string): Promise<number> => {
    let n = 0
    for (const key of keys) if (key.startsWith(prefix) && (await kv!.get(key)) !== null) n++
    return n
  }
  return { make, live }
}

/** A password login of `username` (the two UIA rounds); the 200 body. */
const login = async (send: Send, username: string, extra: Record<string, unknown> = {}) => {
  const { final } = await withUia(send, 'POST', '/v1/login', { username, ...extra }, PASSWORD)
  expect(final.status, JSON.stringify(final.body)).toBe(200)
  return final.body
}

const createAccount = async (send: Send, username: string): Promise<string> => {
  const created = await call(send, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  return created.body.account_id as string
}

describe('review: growth of state an attacker can make the server keep', () => {
  it('review: one account signing in over and over keeps a 90-day device_trust entry per sign-in, even after signing every device out', async () => {
    const tracked = trackedStore()
    const t = makeApp({ env: { ...TEST_ENV }, clock: fakeClock(START), store: tracked.make })
    const attacker = viaApp(t.app, '203.0.113.7')
    await createAccount(attacker, 'mallory')
    const LOGINS = 150
    for (let i = 0; i < LOGINS; i++) {
      // He never sends the token back (it would rotate the old one away), and signs the device out at once.
      const body = await login(attacker, 'mallory')
      expect((await call(attacker, 'POST', '/v1/logout', {}, body.access_token as string)).status).toBe(200)
    }
    // Nothing of his is signed in any more, yet every token he was handed stays stored for 90 days:
    // one account (or one address, 300 logins a minute) grows the ephemeral store without a bound,
    // on Redis with noeviction until every write of every user is refused.
    const trustEntries = await tracked.live('devtrust:')
    expect(trustEntries, `${trustEntries} device_trust entries for one account with no device signed in`).toBeLessThanOrEqual(32)
  }, 30_000)

  it('review: one account signing in over and over keeps a device record per sign-in, with no per-account cap', async () => {
    const t = makeApp({ env: { ...TEST_ENV }, clock: fakeClock(START) })
    // Two addresses, so the per-address UIA-start limit is not what is being measured.
    const accountId = await createAccount(viaApp(t.app, '203.0.113.7'), 'mallory')
    const LOGINS = 150
    for (let i = 0; i < LOGINS; i++) await login(viaApp(t.app, i % 2 === 0 ? '203.0.113.7' : '198.51.100.9'), 'mallory')
    // Every sign-in is a durable device row (and a refresh family, an access token, a feed event, a
    // webhook message) kept until the device is signed out: nothing expires a device, and nothing caps
    // how many one account holds. Every later login of the account also lists them all (device-trust).
    const devices = (await t.durable.devices.listByAccount(accountId)).length
    expect(devices, `${devices} devices stored for one account`).toBeLessThanOrEqual(100)
  }, 30_000)

  it('review: one session rotating its refresh token keeps one refresh_used row per rotation for the 30-day life of the family', async () => {
    const db = new Database(':memory:')
    const t = makeApp({ env: { ...TEST_ENV }, clock: fakeClock(START), durable: (clock) => sqliteStore({ db, clock }) })
    const attacker = viaApp(t.app, '203.0.113.7')
    await createAccount(attacker, 'mallory')
    let refresh = (await login(attacker, 'mallory')).refresh_token as string
    const ROTATIONS = 400
    for (let i = 0; i < ROTATIONS; i++) {
      const r = await attacker('/oauth2/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh }).toString(),
      })
      const body = (await r.json()) as Record<string, unknown>
      expect(r.status, JSON.stringify(body)).toBe(200)
      refresh = body.refresh_token as string
    }
    // Within the token endpoint's 1 200 a minute per address: 1.7 million rows a day per address, kept
    // for the family's 30 days (`usedPurge` frees them only once the family expires), for one session.
    const used = (db.prepare('SELECT count(*) AS n FROM refresh_used').get() as { n: number }).n
    db.close()
    expect(used, `${used} refresh_used rows for one session`).toBeLessThanOrEqual(64)
  }, 30_000)

  it('review: the per-address connection cap counts each IPv6 address apart, so one /64 opens any number of connections', () => {
    const config = parseConfig({ QRELAY_PUBLIC_BASE_URL: 'https://relay.example', QRELAY_MAX_CONNECTIONS_PER_ADDRESS: '16' }).server
    const server = new EventEmitter() as unknown as Server
    capConnectionsPerAddress(server, config)
    const connect = (remoteAddress: string): boolean => {
      let destroyed = false
      const socket = Object.assign(new EventEmitter(), {
        remoteAddress,
        destroy: () => {
          destroyed = true
        },
      })
      server.emit('connection', socket)
      return !destroyed
    }
    // One IPv4 address: the cap holds.
    let ipv4 = 0
    for (let i = 0; i < 200; i++) if (connect('203.0.113.7')) ipv4++
    expect(ipv4).toBe(16)
    // One /64 (a single home line or VPS; any host picks any of its 2^64 addresses): no cap at all.
    let oneLan = 0
    for (let i = 0; i < 200; i++) if (connect(`2001:db8:1:2::${(i + 1).toString(16)}`)) oneLan++
    expect(oneLan, `${oneLan} connections held open by one /64`).toBeLessThanOrEqual(16)
  })
})
