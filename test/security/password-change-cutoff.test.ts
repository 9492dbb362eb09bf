/**
 * Finding 47 (owner protections, docs/security/owner-protections.md): a password change with
 * `logout_devices` ends every other session, and also every sign-in authorised before it and not yet
 * minted: a password login whose password check passed under the old password, a QR approval not yet
 * redeemed. The account's sign-in epoch moves in the change's own store step, and the session mint
 * refuses, in its own step, a sign-in authorised under an earlier one. Enabling TOTP moves it too (a
 * login checked under "no second factor"). Through app.request() with the fake clock, on memory and
 * SQLite; the Redis version with two instances is password-change-cutoff.redis.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { memoryDurableStore } from '../../src/adapters/durable/memory.ts'
import { openSqlite, sqliteStore } from '../../src/adapters/durable/sqlite.ts'
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'
import type { DurableStore } from '../../src/ports.ts'
import { call, login, viaApp, withUia, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock, type FakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const NEW_PASSWORD = 'a completely different passphrase 42'
const HOME = '198.51.100.20'
const THIEF = '203.0.113.77'
const START = Date.UTC(2026, 10, 23, 8, 0)
const ENV = { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown' }

const root = mkdtempSync(join(tmpdir(), 'qrelay-cutoff-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let serial = 0

/** A gate: `wait()` parks a caller until `open()`; `reached` resolves when someone is parked. */
const gate = () => {
  let open!: () => void
  let arrived!: () => void
  const opened = new Promise<void>((r) => {
    open = r
  })
  const reached = new Promise<void>((r) => {
    arrived = r
  })
  return {
    open,
    reached,
    wait: async () => {
      arrived()
      await opened
    },
  }
}
type Gate = ReturnType<typeof gate>

/**
 * The app's durable store with two hooks, each used once when set: the login's account read can be
 * held (as a slow argon2 verify holds it in production: the verify runs on the record read first),
 * and so can the session mint (a login whose password check passed, about to mint).
 */
const withHooks = (make: (clock: FakeClock) => DurableStore) => {
  const hooks: { read?: Gate | undefined; mint?: Gate | undefined } = {}
  const durable = (clock: FakeClock): DurableStore => {
    const inner = make(clock)
    const findByUsername = inner.accounts.findByUsername.bind(inner.accounts)
    inner.accounts.findByUsername = async (username) => {
      const found = await findByUsername(username)
      const g = hooks.read
      hooks.read = undefined
      if (g !== undefined) await g.wait()
      return found
    }
    const createWithTokens = inner.devices.createWithTokens.bind(inner.devices)
    inner.devices.createWithTokens = async (...args) => {
      const g = hooks.mint
      hooks.mint = undefined
      if (g !== undefined) await g.wait()
      return createWithTokens(...args)
    }
    return inner
  }
  return { hooks, durable }
}

/** Alice signed in on her phone; `hooks` hold the next login's account read or mint. */
const setup = async (make: (clock: FakeClock) => DurableStore) => {
  const { hooks, durable } = withHooks(make)
  const t = makeApp({ env: ENV, clock: fakeClock(START), durable })
  const owner = viaApp(t.app, HOME)
  await call(owner, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
  const phone = await login(owner, 'alice', PASSWORD, undefined, 'Phone')
  const token = phone.access_token as string
  return {
    t,
    hooks,
    owner,
    token,
    thief: viaApp(t.app, THIEF),
    /** The owner's password change from the phone. */
    changePassword: async (logoutDevices: boolean) => {
      const body = { new_password: NEW_PASSWORD, logout_devices: logoutDevices }
      return (await withUia(owner, 'POST', '/v1/account/password', body, PASSWORD, undefined, token)).final
    },
    /** The names of the owner's devices. */
    deviceNames: async (): Promise<string[]> => {
      const listed = await call(owner, 'GET', '/v1/devices', undefined, token)
      return (listed.body.devices as { display_name: string }[]).map((d) => d.display_name).sort()
    },
    /** The `device_signed_in` events of the owner's feed, as `device_name` (password) or `approved_by` (QR). */
    signIns: async (): Promise<string[]> => {
      const read = await call(owner, 'GET', '/v1/events?since=0', undefined, token)
      expect(read.status).toBe(200)
      const events = read.body.events as { type: string; details?: Record<string, string> }[]
      return events.filter((e) => e.type === 'device_signed_in').map((e) => e.details?.device_name ?? '')
    },
  }
}

/** A password login in its round with the password, started now; the caller holds it with a hook first. */
const passwordLogin = async (send: Send, deviceName: string, password = PASSWORD) => {
  const body = { username: 'alice', initial_device_display_name: deviceName }
  const first = await call(send, 'POST', '/v1/login', body)
  expect(first.status).toBe(401)
  return call(send, 'POST', '/v1/login', { ...body, auth: { type: 'm.login.password', session: first.body.session, password } })
}

/** A QR grant for a new device, approved by the owner's phone; nothing minted yet. */
const approvedGrant = async (s: Awaited<ReturnType<typeof setup>>, name: string) => {
  const holder = await dpopHolder()
  const binding = bindingOf(name)
  const { codes } = await requestGrant(s.thief, holder, s.t.clock.now(), { channel_binding: binding, device_name: name })
  const approved = await decide(s.owner, s.token, codes.user_code, { decision: 'approve', channel_binding: binding, dpop_jkt: holder.jkt })
  expect(approved.status).toBe(200)
  return { holder, poll: () => pollToken(s.thief, holder, s.t.clock.now(), codes.device_code) }
}

const STORES: ReadonlyArray<[string, (clock: FakeClock) => DurableStore]> = [
  ['memory', (clock) => memoryDurableStore({ clock })],
  ['sqlite', (clock) => sqliteStore({ db: openSqlite(join(root, `db-${serial++}`)), clock })],
]

for (const [store, make] of STORES) {
  describe(`finding 47: a sign-in authorised before a password change that signs the others out does not mint (${store})`, () => {
    it('finding 47: a login with the old password, in flight while the owner changes the password, mints a session that survives the change', async () => {
      const s = await setup(make)
      const parked = gate()
      s.hooks.read = parked
      const thiefLogin = passwordLogin(s.thief, 'Thief')
      await parked.reached // the login has read the account (old hash) and is verifying
      expect((await s.changePassword(true)).status).toBe(200)
      parked.open()
      const minted = await thiefLogin
      // The login verified a password that is no longer the account's: no session.
      expect(minted.status).not.toBe(200)
      expect(minted.status).toBe(403)
      expect(minted.body.errcode).toBe('M_FORBIDDEN')
      expect(minted.body.error).toMatch(/password or second factor changed/)
      expect(await s.deviceNames()).toEqual(['Phone'])
      expect(await s.signIns()).toEqual(['Phone'])
    })

    it('finding 47: a login whose password check passed, held at its mint while the owner changes the password, is refused by the mint', async () => {
      const s = await setup(make)
      const parked = gate()
      s.hooks.mint = parked
      const thiefLogin = passwordLogin(s.thief, 'Thief')
      await parked.reached // the password check passed; the mint is next
      expect((await s.changePassword(true)).status).toBe(200)
      parked.open()
      const minted = await thiefLogin
      expect(minted.status).toBe(403)
      expect(minted.body.errcode).toBe('M_FORBIDDEN')
      expect(minted.body.error).toMatch(/password or second factor changed/)
      expect(await s.deviceNames()).toEqual(['Phone'])
      expect(await s.signIns()).toEqual(['Phone'])
    })

    it('finding 47: a phished approval not yet redeemed is redeemed after the owner changes the password with "sign out other devices"', async () => {
      const s = await setup(make)
      const grant = await approvedGrant(s, 'P')
      // The owner realises at once: nothing to sign out yet, so a password change that signs every
      // other device out. The phisher, who simply waited (the grant lives 300 s), polls after it.
      s.t.clock.advance(20_000)
      expect(await s.deviceNames()).toEqual(['Phone'])
      expect((await s.changePassword(true)).status).toBe(200)
      s.t.clock.advance(60_000)
      const polled = await grant.poll()
      expect(polled.status).not.toBe(200)
      expect(polled.status).toBe(400)
      expect(polled.body.error).toBe('access_denied')
      const after = await callWithDpop(
        s.thief,
        grant.holder,
        s.t.clock.now(),
        'GET',
        '/v1/account/whoami',
        polled.body.access_token as string,
      )
      expect(after.status).toBe(401)
      // A retry stays refused (the grant was spent on the refused poll), and nothing was minted.
      s.t.clock.advance(5_000)
      expect((await grant.poll()).status).toBe(400)
      expect(await s.deviceNames()).toEqual(['Phone'])
      expect(await s.signIns()).toEqual(['Phone'])
    })

    it('finding 47 (sibling): a password login between its password check and its mint when the owner enables TOTP does not mint', async () => {
      const s = await setup(make)
      const begun = await withUia(s.owner, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, s.token)
      expect(begun.final.status).toBe(200)
      const key = totpSecretFromBase32(begun.final.body.secret as string)
      if (!key.ok) throw new Error('bad secret')
      const parked = gate()
      s.hooks.mint = parked
      const thiefLogin = passwordLogin(s.thief, 'Thief')
      await parked.reached // authorised with the password alone: TOTP was not on yet
      const code = generateTotp(key.value.bytes(), s.t.clock.now())
      expect((await call(s.owner, 'POST', '/v1/account/totp/confirm', { code }, s.token)).status).toBe(200)
      parked.open()
      const minted = await thiefLogin
      expect(minted.status).toBe(403)
      expect(minted.body.errcode).toBe('M_FORBIDDEN')
      expect(await s.deviceNames()).toEqual(['Phone'])
      expect(await s.signIns()).toEqual(['Phone'])
    })

    it('finding 47: a login and an approval authorised after the change sign in as before', async () => {
      const s = await setup(make)
      expect((await s.changePassword(true)).status).toBe(200)
      // The old password no longer works at all; the new one does.
      expect((await passwordLogin(s.thief, 'Old')).status).toBe(401)
      const laptop = await passwordLogin(viaApp(s.t.app, HOME), 'Laptop', NEW_PASSWORD)
      expect(laptop.status, JSON.stringify(laptop.body)).toBe(200)
      const grant = await approvedGrant(s, 'TV')
      const polled = await grant.poll()
      expect(polled.status, JSON.stringify(polled.body)).toBe(200)
      expect(await s.deviceNames()).toEqual(['Laptop', 'Phone', 'TV'])
    })

    it('finding 47: a password change without "sign out other devices" voids nothing: the login in flight and the approval not yet redeemed sign in', async () => {
      const s = await setup(make)
      const grant = await approvedGrant(s, 'TV')
      const parked = gate()
      s.hooks.mint = parked
      const inFlight = passwordLogin(viaApp(s.t.app, HOME), 'Laptop')
      await parked.reached
      expect((await s.changePassword(false)).status).toBe(200)
      parked.open()
      const minted = await inFlight
      expect(minted.status, JSON.stringify(minted.body)).toBe(200)
      const polled = await grant.poll()
      expect(polled.status, JSON.stringify(polled.body)).toBe(200)
      expect(await s.deviceNames()).toEqual(['Laptop', 'Phone', 'TV'])
    })
  })
}
