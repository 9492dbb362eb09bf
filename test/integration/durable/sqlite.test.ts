import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Database from 'libsql'
import { afterAll, describe, expect, it } from 'vitest'
import { MIGRATIONS, SchemaVersionError, migrate } from '../../../src/adapters/durable/sqlite-migrations.ts'
import { openSqlite, sqliteStore } from '../../../src/adapters/durable/sqlite.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { describeDurableStore } from './conformance.ts'
import { hashOf, session, signedIn } from './fixtures.ts'
import { SQLITE_BUSY_WAIT_MS } from '../../../src/adapters/durable/sqlite-busy.ts'

const root = mkdtempSync(join(tmpdir(), 'qrelay-durable-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

let serial = 0
const freshDir = (): string => join(root, `db-${serial++}`)
const pragma = (db: Database.Database, name: string, column = name): unknown =>
  (db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown>)[column]

describeDurableStore('sqlite', (clock) => {
  const db = openSqlite(freshDir())
  return { ...sqliteStore({ db, clock }), close: async () => void db.close() }
})

describe('sqliteStore', () => {
  it('creates the data directory and qrelay.db in WAL mode, with foreign keys and a busy timeout', () => {
    const dir = join(freshDir(), 'nested', 'data')
    const db = openSqlite(dir)
    sqliteStore({ db, clock: fakeClock() })
    expect(statSync(join(dir, 'qrelay.db')).isFile()).toBe(true)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(pragma(db, 'journal_mode')).toBe('wal')
    expect(pragma(db, 'foreign_keys')).toBe(1)
    // Short on purpose: a busy write retries asynchronously (sqlite-busy.ts), it does not block the process.
    expect(pragma(db, 'busy_timeout', 'timeout')).toBe(SQLITE_BUSY_WAIT_MS)
    expect(pragma(db, 'synchronous')).toBe(2) // FULL
    expect(pragma(db, 'user_version')).toBe(MIGRATIONS.length)
    db.close()
  })

  it('commits every write with a sync (FULL): security events, the session mint and revocations', async () => {
    const db = openSqlite(freshDir())
    const clock = fakeClock(Date.now())
    const store = sqliteStore({ db, clock })
    const { account, device } = await signedIn(store, clock)
    const levels: unknown[] = []
    const exec = db.exec.bind(db)
    db.exec = (text: string) => {
      if (/^COMMIT/.test(text)) levels.push(pragma(db, 'synchronous'))
      return exec(text)
    }
    await store.security.appendEvent(account.id, { type: 'password_changed', atMs: clock.now() }, { maxEvents: 10, retentionMs: 60_000 })
    await session(store, clock, device)
    await store.devices.revoke(account.id, device.id)
    // A sign-in is reported or it does not stand (device-login.ts): its event must be as durable as its tokens.
    expect(levels).toEqual([2, 2, 2, 2])
    db.close()
  })

  it('keeps accounts, credentials, devices and tokens across a restart', async () => {
    const dir = freshDir()
    const clock = fakeClock(Date.now())
    const first = openSqlite(dir)
    const before = sqliteStore({ db: first, clock })
    const { account, device } = await signedIn(before, clock)
    const { access, family } = await session(before, clock, device)
    await before.credentials.replaceRecoveryCodes(account.id, [hashOf('r1'), hashOf('r2')])
    await before.credentials.consumeRecoveryCode(account.id, hashOf('r1'))
    await before.credentials.useTotpStep(account.id, 77)
    first.close()

    const second = openSqlite(dir)
    const after = sqliteStore({ db: second, clock })
    expect(await after.accounts.findByUsername(account.username)).toEqual(account)
    expect(await after.devices.listByAccount(account.id)).toEqual([device])
    expect(await after.tokens.getAccess(access.id)).toEqual(access)
    expect(await after.tokens.getRefreshFamily(family.id)).toEqual(family)
    expect(await after.credentials.consumeRecoveryCode(account.id, hashOf('r1'))).toBe(false)
    expect(await after.credentials.countRecoveryCodes(account.id)).toBe(1)
    expect(await after.credentials.useTotpStep(account.id, 77)).toBe(false)
    second.close()
  })

  it('migrates once: opening again changes neither the version nor the data', async () => {
    const db = openSqlite(freshDir())
    const clock = fakeClock(Date.now())
    const store = sqliteStore({ db, clock })
    const { account } = await signedIn(store, clock)
    expect(migrate(db)).toEqual({ from: MIGRATIONS.length, to: MIGRATIONS.length })
    sqliteStore({ db, clock })
    expect(pragma(db, 'user_version')).toBe(MIGRATIONS.length)
    expect(await store.accounts.get(account.id)).toEqual(account)
    db.close()
  })

  it('applies pending migrations in order, and none of them when one fails', () => {
    const db = openSqlite(freshDir())
    const latest = MIGRATIONS.length
    const extra = { version: latest + 1, description: 'extra', sql: 'CREATE TABLE extra (x TEXT) STRICT' }
    const broken = { version: latest + 2, description: 'broken', sql: 'CREATE TABLE extra (y TEXT) STRICT' }
    expect(migrate(db)).toEqual({ from: 0, to: MIGRATIONS.length })
    expect(() => migrate(db, [...MIGRATIONS, extra, broken])).toThrow(/already exists/)
    expect(pragma(db, 'user_version')).toBe(latest)
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'extra'").get()).toBeUndefined()
    expect(migrate(db, [...MIGRATIONS, extra])).toEqual({ from: latest, to: latest + 1 })
    expect(() => migrate(db, [extra])).toThrow(new RegExp(`version ${latest + 1}, expected 1`))
    db.close()
  })

  it('refuses to open a file written by a newer schema, with a clear error', () => {
    const dir = freshDir()
    const db = openSqlite(dir)
    sqliteStore({ db, clock: fakeClock() })
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`)
    expect(() => sqliteStore({ db, clock: fakeClock() })).toThrow(SchemaVersionError)
    const latest = MIGRATIONS.length
    expect(() => sqliteStore({ db, clock: fakeClock() })).toThrow(
      new RegExp(`version ${latest + 1}, newer than this qrelay knows \\(${latest}\\)`),
    )
    db.close()
  })

  it('stays atomic between two connections to one file (two processes)', async () => {
    const dir = freshDir()
    const clock = fakeClock(Date.now())
    const [dbA, dbB] = [openSqlite(dir), openSqlite(dir)]
    const [a, b] = [sqliteStore({ db: dbA, clock }), sqliteStore({ db: dbB, clock })]
    const { account, device } = await signedIn(a, clock)
    const { family } = await session(a, clock, device)
    await b.credentials.replaceRecoveryCodes(account.id, [hashOf('shared')])
    const spent = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).credentials.consumeRecoveryCode(account.id, hashOf('shared'))),
    )
    expect(spent.filter(Boolean)).toHaveLength(1)
    const rotations = await Promise.all(
      [a, b].map((s, i) =>
        s.tokens.rotateRefresh({ familyId: family.id, presentedHash: family.currentHash, nextHash: hashOf(`n${i}`), graceMs: 2_000 }),
      ),
    )
    expect(rotations.map((r) => r.outcome).sort()).toEqual(['raced', 'rotated'])
    expect(await b.devices.revokeAllExcept(account.id, null)).toBe(1)
    expect(await a.devices.listByAccount(account.id)).toEqual([])
    dbA.close()
    dbB.close()
  })
})

describe('openSqlite file permissions', () => {
  it('creates the database and its WAL files readable by the owner only', async () => {
    const { mkdtempSync, statSync, readdirSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { openSqlite } = await import('../../../src/adapters/durable/sqlite.ts')
    const dir = mkdtempSync(join(tmpdir(), 'qrelay-perm-'))
    try {
      const db = openSqlite(join(dir, 'data'))
      db.exec('CREATE TABLE t (x)')
      db.exec('INSERT INTO t VALUES (1)')
      for (const name of readdirSync(join(dir, 'data'))) {
        expect(statSync(join(dir, 'data', name)).mode & 0o077, name).toBe(0)
      }
      expect(statSync(join(dir, 'data')).mode & 0o077).toBe(0)
      db.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
