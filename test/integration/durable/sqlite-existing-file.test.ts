/**
 * A database file written before the SQL moved to `src/adapters/durable/sql/` opens unchanged: the
 * file is made here the way the earlier store made it (its released migrations applied by hand, rows
 * in the columns and encodings that store wrote), then read and written through today's store.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MIGRATIONS } from '../../../src/adapters/durable/sqlite-migrations.ts'
import { openSqlite, sqliteStore } from '../../../src/adapters/durable/sqlite.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const root = mkdtempSync(join(tmpdir(), 'qrelay-old-file-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const T = Date.UTC(2026, 0, 1)
const DAY = 86_400_000

// The file as the earlier store left it: schema version 3, one account with everything it can hold.
const OLD_ROWS = `
  INSERT INTO accounts (id, username, username_key, password_hash, status, locked_until_ms, totp_secret,
    totp_confirmed_at_ms, last_totp_step, version, created_at_ms, updated_at_ms)
    VALUES ('acct-old', 'Alice', 'alice', '$argon2id$old', 'active', 0, 'TOTPSECRET', ${T}, 5, 3, ${T}, ${T + 1});
  INSERT INTO recovery_codes (account_id, code_hash) VALUES ('acct-old', 'rc-1'), ('acct-old', 'rc-2');
  INSERT INTO devices (account_id, id, display_name, origin, approved_by_device_id, channel_hash,
    quarantine_until_ms, created_at_ms, last_seen_at_ms, last_seen_network)
    VALUES ('acct-old', 'dev-1', 'Laptop', 'password', NULL, NULL, 0, ${T}, ${T + 5}, '192.0.2.0/24'),
           ('acct-old', 'dev-2', 'Phone', 'qr', 'dev-1', 'chan-hash', ${T + 10}, ${T + 1}, ${T + 1}, NULL);
  INSERT INTO refresh_families (id, account_id, device_id, scopes, jkt, current_hash, previous_hash,
    rotated_at_ms, generation, created_at_ms, expires_at_ms, revoked_at_ms)
    VALUES ('fam-1', 'acct-old', 'dev-1', '["urn:qrelay:session"]', 'jkt-1', 'h2', 'h1', ${T}, 1, ${T}, ${T + 30 * DAY}, NULL);
  INSERT INTO refresh_used (family_id, token_hash) VALUES ('fam-1', 'h1');
  INSERT INTO access_tokens (id, secret_hash, account_id, device_id, family_id, scopes, jkt, issued_at_ms, expires_at_ms)
    VALUES ('at-1', 'sh-1', 'acct-old', 'dev-1', 'fam-1', '["urn:qrelay:session"]', 'jkt-1', ${T}, ${T + DAY}),
           ('at-2', 'sh-2', 'acct-old', 'dev-2', NULL, '["urn:qrelay:session","admin"]', NULL, ${T}, ${T + DAY});
  INSERT INTO auth_marks (account_id, device_id, at_ms) VALUES ('acct-old', 'dev-1', ${T + 2});
  INSERT INTO security_events (account_id, id, type, at_ms, device_id, details, expires_at_ms)
    VALUES ('acct-old', ${T}, 'password_changed', ${T}, 'dev-1', NULL, ${T + 90 * DAY}),
           ('acct-old', ${T + 1}, 'device_revoked', ${T + 1}, NULL, '{"deviceId":"dev-3"}', ${T + 90 * DAY});
`

const writeOldFile = (dir: string): void => {
  const db = openSqlite(dir)
  for (const m of MIGRATIONS.slice(0, 3)) db.exec(m.sql)
  db.exec('PRAGMA user_version = 3')
  db.exec(OLD_ROWS)
  db.close()
}

describe('sqliteStore on a file written by the earlier store', () => {
  it('reads every record back, keeps the schema version, and writes on', async () => {
    const dir = join(root, 'v3')
    writeOldFile(dir)
    const clock = fakeClock(T + 1_000)
    const db = openSqlite(dir)
    const store = sqliteStore({ db, clock })
    expect((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(MIGRATIONS.length)

    const account = {
      id: 'acct-old',
      username: 'Alice',
      passwordHash: '$argon2id$old',
      status: 'active',
      lockedUntilMs: 0,
      totp: { secret: 'TOTPSECRET', confirmedAtMs: T },
      version: 3,
      createdAtMs: T,
      updatedAtMs: T + 1,
    }
    expect(await store.accounts.get('acct-old')).toEqual(account)
    expect(await store.accounts.findByUsername('ALICE')).toEqual(account)
    expect(await store.devices.listByAccount('acct-old')).toEqual([
      {
        id: 'dev-1',
        accountId: 'acct-old',
        displayName: 'Laptop',
        origin: 'password',
        quarantineUntilMs: 0,
        createdAtMs: T,
        lastSeenAtMs: T + 5,
        lastSeenNetwork: '192.0.2.0/24',
      },
      {
        id: 'dev-2',
        accountId: 'acct-old',
        displayName: 'Phone',
        origin: 'qr',
        approvedByDeviceId: 'dev-1',
        channelHash: 'chan-hash',
        quarantineUntilMs: T + 10,
        createdAtMs: T + 1,
        lastSeenAtMs: T + 1,
      },
    ])
    expect(await store.tokens.getAccess('at-2')).toEqual({
      id: 'at-2',
      secretHash: 'sh-2',
      accountId: 'acct-old',
      deviceId: 'dev-2',
      scopes: ['urn:qrelay:session', 'admin'],
      issuedAtMs: T,
      expiresAtMs: T + DAY,
    })
    expect(await store.tokens.getRefreshFamily('fam-1')).toMatchObject({
      currentHash: 'h2',
      previousHash: 'h1',
      generation: 1,
      jkt: 'jkt-1',
    })
    expect(await store.credentials.countRecoveryCodes('acct-old')).toBe(2)
    expect(await store.credentials.useTotpStep('acct-old', 5)).toBe(false)
    expect(await store.credentials.useTotpStep('acct-old', 6)).toBe(true)
    expect(await store.security.lastAuthenticated('acct-old', 'dev-1')).toBe(T + 2)
    expect((await store.security.readEvents('acct-old', 0, 10)).map((e) => e.id)).toEqual([T, T + 1])
    expect((await store.security.readEvents('acct-old', T, 10))[0]).toEqual({
      id: T + 1,
      type: 'device_revoked',
      atMs: T + 1,
      details: { deviceId: 'dev-3' },
    })

    // Writes on the old rows: a used hash is a replay; the current one rotates; revoking cascades.
    // A touch keeps the recent networks (migration 7, finding 49), the old last network folded in.
    expect(await store.devices.touch('acct-old', 'dev-1', { atMs: T + 20, network: '198.51.100.0/24' })).toBe(true)
    expect((await store.devices.get('acct-old', 'dev-1'))?.recentNetworks).toEqual([
      { network: '198.51.100.0/24', atMs: T + 20 },
      { network: '192.0.2.0/24', atMs: T + 5 },
    ])
    expect(await store.credentials.consumeRecoveryCode('acct-old', 'rc-1')).toBe(true)
    const appended = await store.security.appendEvent(
      'acct-old',
      { type: 'totp_enabled', atMs: clock.now() },
      { maxEvents: 10, retentionMs: DAY },
    )
    expect(appended?.id).toBe(T + 1_000)
    const rotated = await store.tokens.rotateRefresh({ familyId: 'fam-1', presentedHash: 'h2', nextHash: 'h3', graceMs: 0 })
    expect(rotated).toMatchObject({ outcome: 'rotated', family: { currentHash: 'h3', generation: 2 } })
    expect((await store.tokens.rotateRefresh({ familyId: 'fam-1', presentedHash: 'h1', nextHash: 'h4', graceMs: 0 })).outcome).toBe(
      'reused',
    )
    expect(await store.devices.revoke('acct-old', 'dev-1')).toBe(true)
    expect(await store.tokens.getAccess('at-1')).toBeNull()
    expect(await store.security.lastAuthenticated('acct-old', 'dev-1')).toBeNull()
    expect(await store.devices.listByAccount('acct-old')).toHaveLength(1)
    // The sign-in epoch (finding 47, migration 6): none on the old row; an update stores one.
    const current = (await store.accounts.get('acct-old'))!
    expect(current.authEpoch).toBeUndefined()
    expect(await store.accounts.update('acct-old', current.version, { ...current, version: current.version + 1, authEpoch: 1 })).toBe('ok')
    expect((await store.accounts.get('acct-old'))?.authEpoch).toBe(1)
    db.close()
  })
})
