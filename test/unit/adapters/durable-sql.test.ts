/**
 * The shared SQL of the durable store (`src/adapters/durable/sql/`): every named statement binds as
 * many arguments as it has placeholders in both scopes, and the rules run on both table shapes (the
 * account object's shape is exercised here on libsql: no foreign keys, so the cascades are explicit).
 */
import Database from 'libsql'
import { describe, expect, it } from 'vitest'
import { AccountSql } from '../../../src/adapters/durable/sql/account-sql.ts'
import { libsqlExecutor } from '../../../src/adapters/durable/sql/libsql-executor.ts'
import { applyObjectSchema, MIGRATIONS } from '../../../src/adapters/durable/sql/schema.ts'
import { lastAuthenticated, markAuthenticated } from '../../../src/adapters/durable/sql/security-sql.ts'
import { ownedStatements, recordStatements, type AccountScope } from '../../../src/adapters/durable/sql/statements.ts'
import type { Query } from '../../../src/adapters/durable/sql/executor.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { newAccess, newAccount, newDevice, newFamily } from '../../integration/durable/fixtures.ts'

const SCOPES: AccountScope[] = ['all-accounts', 'one-account']
const placeholders = (sql: string): number => (sql.match(/\?/g) ?? []).length

describe('durable store statements', () => {
  it.each(SCOPES)('bind one argument per placeholder (%s)', (scope) => {
    const statements = { ...recordStatements, ...ownedStatements(scope) } as Record<string, (...args: unknown[]) => Query>
    for (const [name, statement] of Object.entries(statements)) {
      const { sql, args } = statement(...Array.from({ length: statement.length }, () => 'x'))
      expect(args.length, name).toBe(placeholders(sql))
    }
  })

  it('name no account on the object tables without an account column', () => {
    const object = ownedStatements('one-account')
    expect(object.codeConsume('acct', 'hash')).toEqual({ sql: 'DELETE FROM recovery_codes WHERE code_hash = ?', args: ['hash'] })
    expect(ownedStatements('all-accounts').codeConsume('acct', 'hash')).toEqual({
      sql: 'DELETE FROM recovery_codes WHERE account_id = ? AND code_hash = ?',
      args: ['acct', 'hash'],
    })
  })
})

const fileShape = (): AccountSql => {
  const db = new Database(':memory:')
  db.exec('PRAGMA foreign_keys = ON')
  for (const m of MIGRATIONS) db.exec(m.sql)
  return new AccountSql(libsqlExecutor(db), 'all-accounts')
}
const objectShape = (): AccountSql => {
  const db = new Database(':memory:')
  // As the account object applies it: the steps, then the columns added since.
  applyObjectSchema(
    (sql) => db.exec(sql),
    (table) => (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name),
  )
  return new AccountSql(libsqlExecutor(db), 'one-account')
}

describe('the two table shapes', () => {
  const columns = (make: () => AccountSql, table: string): string[] =>
    make()
      .sql.all<{ name: string }>({ sql: `SELECT name FROM pragma_table_info('${table}') ORDER BY name`, args: [] })
      .map((c) => c.name)

  it.each(['accounts', 'devices', 'refresh_families', 'refresh_used', 'access_tokens'])('have the same columns in %s', (table) => {
    expect(columns(objectShape, table)).toEqual(columns(fileShape, table))
  })

  it.each(['recovery_codes', 'auth_marks', 'security_events'])('differ only by account_id in %s', (table) => {
    expect(columns(objectShape, table)).toEqual(columns(fileShape, table).filter((c) => c !== 'account_id'))
  })
})

describe.each([
  ['Node file', fileShape],
  ['account object', objectShape],
] as const)('AccountSql on the %s shape', (_name, make) => {
  it('mints, rotates and revokes, with the cascades of a device', () => {
    const tables = make()
    const clock = fakeClock()
    const now = clock.now()
    const account = newAccount(clock)
    expect(tables.createAccount(account, account.username.toLowerCase())).toBe('ok')
    const device = newDevice(clock, account.id)
    expect(tables.createDevice(device, now)).toBe('ok')
    expect(tables.createDevice(device, now)).toBe('exists')
    const family = newFamily(clock, device)
    expect(tables.createFamily(family, now)).toBe('ok')
    const access = newAccess(clock, device, { familyId: family.id })
    expect(tables.putAccess(access, now)).toBe('ok')
    expect(markAuthenticated(tables, account.id, device.id, now)).toBe(true)
    const rotated = tables.rotateRefresh({ familyId: family.id, presentedHash: family.currentHash, nextHash: 'next', graceMs: 0 }, now)
    expect(rotated).toMatchObject({ outcome: 'rotated', family: { currentHash: 'next', generation: family.generation + 1 } })
    expect(tables.revokeDevice(account.id, device.id, now)).toBe(true)
    expect(tables.getAccess(access.id, now)).toBeNull()
    expect(lastAuthenticated(tables, account.id, device.id)).toBeNull()
    expect(tables.liveFamily(family.id, now)?.revokedAtMs).toBe(now)
    expect(tables.purgeExpired(family.expiresAtMs)).toBe(1)
  })
})
