/**
 * Finding 21: secrets and security state at rest. TOTP keys are sealed under a keyring (never plain
 * in the SQLite file), bound to their account, re-sealed on rotation and migrated from the old plain
 * form; the last-authenticated marks and the account's event feed live in the durable store, so a
 * restart on SQLite keeps them.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Database from 'libsql'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { openSqlite, sqliteStore } from '../../src/adapters/durable/sqlite.ts'
import { reviseAccount } from '../../src/core/accounts/records.ts'
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'
import { parseSealingKeyring, type SealingKeyring } from '../../src/core/crypto/sealed-secret.ts'
import { resealAll } from '../../src/services/second-factors.ts'
import { call, login, viaApp, withUia, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock, type FakeClock } from '../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { bindingOf, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const HOME_TOO = '198.51.100.77'
const BINDING = bindingOf('R')
const HOUR_MS = 3_600_000
const ENV = {
  ...TEST_ENV,
  QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
  QRELAY_APPROVER_MAX_AUTH_AGE_SECONDS: '3600',
  QRELAY_ACCESS_TOKEN_TTL_SECONDS: '86400',
}

const ring = (text: string): SealingKeyring => {
  const parsed = parseSealingKeyring(text)
  if (!parsed.ok) throw new Error(parsed.detail)
  return parsed.value
}
const KEY_A = `test:${'03'.repeat(32)}` // the default test keyring of makeApp
const KEY_B = `k2:${'b2'.repeat(32)}`
const KEY_OTHER = `test:${'0f'.repeat(32)}`

const root = mkdtempSync(join(tmpdir(), 'qrelay-at-rest-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let serial = 0

/** Apps over one SQLite directory: each `start()` is a (re)started server; the previous one is closed. */
const sqliteServer = (clock: FakeClock = fakeClock(Date.UTC(2026, 10, 22))) => {
  const dir = join(root, `db-${serial++}`)
  let db: Database.Database | undefined
  let current: TestApp | undefined
  const stop = async (): Promise<void> => {
    await current?.store.close()
    db?.close()
    db = undefined
    current = undefined
  }
  return {
    dir,
    clock,
    stop,
    async start(keyring?: SealingKeyring): Promise<TestApp> {
      await stop()
      current = makeApp({
        env: ENV,
        clock,
        ...(keyring === undefined ? {} : { keyring }),
        durable: (c) => {
          db = openSqlite(dir)
          return sqliteStore({ db, clock: c })
        },
      })
      return current
    },
    raw(): Database.Database {
      if (db === undefined) throw new Error('not started')
      return db
    },
  }
}

let stopAll: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const stop of stopAll) await stop()
  stopAll = []
})
const server = () => {
  const s = sqliteServer()
  stopAll.push(s.stop)
  return s
}

/** Creates alice, signs in and enrols TOTP; returns the token, the raw key and the account id. */
const aliceWithTotp = async (t: TestApp, send: Send, username = 'alice') => {
  const created = await call(send, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)
  expect(created.status).toBe(201)
  const first = await login(send, username, PASSWORD)
  const { final } = await withUia(send, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, first.access_token)
  expect(final.status, JSON.stringify(final.body)).toBe(200)
  const base32 = final.body.secret as string
  const key = totpSecretFromBase32(base32)
  if (!key.ok) throw new Error('bad secret')
  const confirmed = await call(
    send,
    'POST',
    '/v1/account/totp/confirm',
    { code: generateTotp(key.value.bytes(), t.clock.now()) },
    first.access_token,
  )
  expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200)
  t.clock.advance(30_000)
  return { token: first.access_token as string, base32, key: key.value.bytes(), accountId: created.body.account_id as string }
}

/** Logs in with password + the current TOTP code; returns the final answer. */
const totpLogin = async (t: TestApp, send: Send, key: Uint8Array, username = 'alice') => {
  const { final } = await withUia(send, 'POST', '/v1/login', { username }, PASSWORD, {
    type: 'm.login.2fa.totp',
    code: generateTotp(key, t.clock.now()),
  })
  t.clock.advance(30_000)
  return final
}

const storedSecret = async (t: TestApp, accountId: string): Promise<string> => {
  const secret = (await t.durable.accounts.get(accountId))?.totp?.secret
  if (secret === undefined) throw new Error('no TOTP key stored')
  return secret
}

describe('finding 21: secrets at rest', () => {
  it('finding 21: a TOTP key (pending or confirmed) is not readable in the SQLite file', async () => {
    const s = server()
    const t = await s.start()
    const send = viaApp(t.app)
    const created = await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const first = await login(send, 'alice', PASSWORD)
    const { final } = await withUia(send, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, first.access_token)
    const pending = final.body.secret as string
    expect(await storedSecret(t, created.body.account_id)).toMatch(/^v1\.test\.[\w-]+$/)
    const { base32, accountId } = await aliceWithTotp(t, send, 'bob')
    const row = s.raw().prepare('SELECT totp_secret FROM accounts WHERE id = ?').get(accountId) as { totp_secret: string }
    expect(row.totp_secret).toMatch(/^v1\.test\.[\w-]+$/)
    await s.stop()
    // The database and its WAL, byte for byte: neither seed appears.
    for (const name of readdirSync(s.dir)) {
      const bytes = readFileSync(join(s.dir, name)).toString('latin1')
      expect(bytes.includes(base32), name).toBe(false)
      expect(bytes.includes(pending), name).toBe(false)
    }
  })

  it('finding 21: a key sealed for one account does not open for another, and a tampered or unknown-key value is refused', async () => {
    const s = server()
    const t = await s.start()
    const send = viaApp(t.app)
    const alice = await aliceWithTotp(t, send)
    const bob = await aliceWithTotp(t, send, 'bob')
    // Bob's row given Alice's sealed key: Alice's codes must not sign Bob in.
    const bobRecord = await t.durable.accounts.get(bob.accountId)
    if (bobRecord?.totp === undefined) throw new Error('no bob')
    const moved = reviseAccount(bobRecord, { totp: { ...bobRecord.totp, secret: await storedSecret(t, alice.accountId) } }, t.clock.now())
    expect(await t.durable.accounts.update(bob.accountId, bobRecord.version, moved)).toBe('ok')
    const asBob = await totpLogin(t, send, alice.key, 'bob')
    expect(asBob.status).toBe(500)
    expect(asBob.body.access_token).toBeUndefined()
    expect(JSON.stringify(asBob.body)).not.toContain(alice.base32)

    // One flipped character in Alice's stored value.
    const sealed = await storedSecret(t, alice.accountId)
    const last = sealed.at(-2) === 'A' ? 'B' : 'A'
    s.raw()
      .prepare('UPDATE accounts SET totp_secret = ? WHERE id = ?')
      .run(`${sealed.slice(0, -2)}${last}${sealed.at(-1)}`, alice.accountId)
    expect((await totpLogin(t, send, alice.key)).status).toBe(500)
    s.raw().prepare('UPDATE accounts SET totp_secret = ? WHERE id = ?').run(sealed, alice.accountId)
    expect((await totpLogin(t, send, alice.key)).status).toBe(200)

    // A restart with another key under the same id, or without the key id at all: refused, not bypassed.
    const other = await s.start(ring(KEY_OTHER))
    expect((await totpLogin(other, viaApp(other.app), alice.key)).status).toBe(500)
    const unknown = await s.start(ring(KEY_B))
    const refused = await totpLogin(unknown, viaApp(unknown.app), alice.key)
    expect(refused.status).toBe(500)
    expect(refused.body.access_token).toBeUndefined()
    expect(await storedSecret(unknown, alice.accountId)).toBe(sealed)
  })

  it('finding 21: rotation re-seals a key under the new current key when it is next used, and resealAll does the rest', async () => {
    const s = server()
    const t = await s.start()
    const alice = await aliceWithTotp(t, viaApp(t.app))
    const bob = await aliceWithTotp(t, viaApp(t.app), 'bob')
    expect(await storedSecret(t, alice.accountId)).toMatch(/^v1\.test\./)

    // New key first, old key kept to open: Alice's login re-seals hers.
    const rotated = await s.start(ring(`${KEY_B},${KEY_A}`))
    expect((await totpLogin(rotated, viaApp(rotated.app), alice.key)).status).toBe(200)
    expect(await storedSecret(rotated, alice.accountId)).toMatch(/^v1\.k2\./)
    expect(await storedSecret(rotated, bob.accountId)).toMatch(/^v1\.test\./)
    expect(await resealAll(rotated.auth.secondFactors, [alice.accountId, bob.accountId])).toEqual({ resealed: 1, failed: [] })
    expect(await storedSecret(rotated, bob.accountId)).toMatch(/^v1\.k2\./)

    // The old key can now leave the keyring.
    const newOnly = await s.start(ring(KEY_B))
    expect((await totpLogin(newOnly, viaApp(newOnly.app), alice.key)).status).toBe(200)
    expect((await totpLogin(newOnly, viaApp(newOnly.app), bob.key, 'bob')).status).toBe(200)
  })

  it('finding 21: an enrolment begun before a rotation confirms after it, sealed under the new key', async () => {
    const s = server()
    const t = await s.start()
    const send = viaApp(t.app)
    const created = await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const { access_token: token } = await login(send, 'alice', PASSWORD)
    const { final } = await withUia(send, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, token)
    const key = totpSecretFromBase32(final.body.secret as string)
    if (!key.ok) throw new Error('bad secret')
    const rotated = await s.start(ring(`${KEY_B},${KEY_A}`))
    const confirmed = await call(
      viaApp(rotated.app),
      'POST',
      '/v1/account/totp/confirm',
      { code: generateTotp(key.value.bytes(), rotated.clock.now()) },
      token,
    )
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200)
    expect(await storedSecret(rotated, created.body.account_id)).toMatch(/^v1\.k2\./)
  })

  it('finding 21: a plain base32 key stored before sealing still works and is sealed on first use', async () => {
    const s = server()
    const t = await s.start()
    const send = viaApp(t.app)
    const alice = await aliceWithTotp(t, send)
    // What an earlier release wrote: the key itself.
    s.raw().prepare('UPDATE accounts SET totp_secret = ? WHERE id = ?').run(alice.base32, alice.accountId)
    const restarted = await s.start()
    expect(await restarted.auth.secondFactors.resealTotp('nobody')).toBe(false)
    expect((await totpLogin(restarted, viaApp(restarted.app), alice.key)).status).toBe(200)
    const sealed = await storedSecret(restarted, alice.accountId)
    expect(sealed).toMatch(/^v1\.test\./)
    expect(sealed).not.toContain(alice.base32)
    expect((await totpLogin(restarted, viaApp(restarted.app), alice.key)).status).toBe(200)
    // Anything else without the sealed prefix is not taken as a key.
    s.raw().prepare('UPDATE accounts SET totp_secret = ? WHERE id = ?').run('not a key', alice.accountId)
    expect((await totpLogin(restarted, viaApp(restarted.app), alice.key)).status).toBe(500)
  })
})

describe('finding 21: security state survives a restart', () => {
  it('finding 21: a restart on SQLite keeps the last-authenticated mark and the event feed', async () => {
    const s = server()
    const t = await s.start()
    const approver = viaApp(t.app, HOME)
    await call(approver, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const { access_token: token } = await login(approver, 'alice', PASSWORD)

    // Two hours later the approver's sign-in is stale: approving asks for the password, which marks it.
    t.clock.advance(2 * HOUR_MS)
    const holder = await dpopHolder()
    const newDevice = viaApp(t.app, HOME_TOO)
    const grant = await requestGrant(newDevice, holder, t.clock.now(), { channel_binding: BINDING })
    const body = { decision: 'approve' as const, channel_binding: BINDING, dpop_jkt: holder.jkt }
    const challenge = await decide(approver, token, grant.codes.user_code, body)
    expect(challenge.status).toBe(401)
    const done = await decide(approver, token, grant.codes.user_code, {
      ...body,
      auth: { type: 'm.login.password', session: challenge.body.session, password: PASSWORD },
    })
    expect(done).toMatchObject({ status: 200, body: { status: 'approved' } })
    expect((await pollToken(newDevice, holder, t.clock.now(), grant.codes.device_code)).status).toBe(200)
    const before = await call(approver, 'GET', '/v1/events?since=0', undefined, token)
    // The approver's own password sign-in, then the QR sign-in it approved.
    expect(before.body.events.map((e: { type: string; details: { origin: string } }) => `${e.type}:${e.details.origin}`)).toEqual([
      'device_signed_in:password',
      'device_signed_in:qr',
    ])

    // Restart: a new app on the same SQLite file, with a fresh (memory) ephemeral store.
    const after = await s.start()
    after.clock.advance(10 * 60_000)
    const approverAfter = viaApp(after.app, HOME)
    const feed = await call(approverAfter, 'GET', '/v1/events?since=0', undefined, token)
    expect(feed.status).toBe(200)
    expect(feed.body.events).toEqual(before.body.events)
    // The mark of ten minutes ago still counts: no password asked this time.
    const second = await dpopHolder()
    const again = await requestGrant(viaApp(after.app, HOME_TOO), second, after.clock.now(), { channel_binding: BINDING })
    const approved = await decide(approverAfter, token, again.codes.user_code, { ...body, dpop_jkt: second.jkt })
    expect(approved, JSON.stringify(approved.body)).toMatchObject({ status: 200, body: { status: 'approved' } })
  })
})
