/**
 * An account object's storage written before the SQL moved to `src/adapters/durable/sql/` still
 * serves: the tables are made here as the earlier object made them (its DDL, copied), rows in its
 * columns (no account column on codes, marks and events), then a fresh object over that storage reads
 * and writes them.
 */
import { env } from 'cloudflare:workers'
import { runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { AccountObject } from '../../src/runtime/account-object.ts'

const T = Date.UTC(2026, 0, 1)
const DAY = 86_400_000

// The earlier object's schema, as released (base tables and the security-state tables).
const EARLIER_SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY, username TEXT NOT NULL, username_key TEXT NOT NULL, password_hash TEXT NOT NULL,
  status TEXT NOT NULL, locked_until_ms INTEGER NOT NULL, totp_secret TEXT, totp_confirmed_at_ms INTEGER,
  last_totp_step INTEGER NOT NULL DEFAULT -1, version INTEGER NOT NULL, created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS abandoned_usernames (username_key TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS recovery_codes (code_hash TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS devices (
  account_id TEXT NOT NULL, id TEXT PRIMARY KEY, display_name TEXT NOT NULL, origin TEXT NOT NULL,
  approved_by_device_id TEXT, channel_hash TEXT, quarantine_until_ms INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL, last_seen_at_ms INTEGER NOT NULL, last_seen_network TEXT);
CREATE TABLE IF NOT EXISTS refresh_families (
  id TEXT PRIMARY KEY, account_id TEXT NOT NULL, device_id TEXT NOT NULL, scopes TEXT NOT NULL, jkt TEXT,
  current_hash TEXT NOT NULL, previous_hash TEXT, rotated_at_ms INTEGER, generation INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL, revoked_at_ms INTEGER);
CREATE INDEX IF NOT EXISTS refresh_families_by_device ON refresh_families (device_id);
CREATE INDEX IF NOT EXISTS refresh_families_by_expiry ON refresh_families (expires_at_ms);
CREATE TABLE IF NOT EXISTS refresh_used (family_id TEXT NOT NULL, token_hash TEXT NOT NULL, PRIMARY KEY (family_id, token_hash));
CREATE TABLE IF NOT EXISTS access_tokens (
  id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, account_id TEXT NOT NULL, device_id TEXT NOT NULL,
  family_id TEXT, scopes TEXT NOT NULL, jkt TEXT, issued_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS access_tokens_by_device ON access_tokens (device_id);
CREATE INDEX IF NOT EXISTS access_tokens_by_family ON access_tokens (family_id);
CREATE INDEX IF NOT EXISTS access_tokens_by_expiry ON access_tokens (expires_at_ms);
CREATE TABLE IF NOT EXISTS auth_marks (device_id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS security_events (
  id INTEGER PRIMARY KEY, type TEXT NOT NULL, at_ms INTEGER NOT NULL, device_id TEXT, details TEXT,
  expires_at_ms INTEGER NOT NULL);`

const EARLIER_ROWS = `
INSERT INTO accounts (id, username, username_key, password_hash, status, locked_until_ms, totp_secret,
  totp_confirmed_at_ms, last_totp_step, version, created_at_ms, updated_at_ms)
  VALUES ('acct-old', 'Alice', 'alice', '$argon2id$old', 'active', 0, NULL, NULL, 5, 2, ${T}, ${T});
INSERT INTO recovery_codes (code_hash) VALUES ('rc-1'), ('rc-2');
INSERT INTO devices (account_id, id, display_name, origin, approved_by_device_id, channel_hash,
  quarantine_until_ms, created_at_ms, last_seen_at_ms, last_seen_network)
  VALUES ('acct-old', 'dev-1', 'Laptop', 'password', NULL, NULL, 0, ${T}, ${T}, NULL);
INSERT INTO refresh_families (id, account_id, device_id, scopes, jkt, current_hash, previous_hash,
  rotated_at_ms, generation, created_at_ms, expires_at_ms, revoked_at_ms)
  VALUES ('fam-1', 'acct-old', 'dev-1', '["urn:qrelay:session"]', NULL, 'h2', 'h1', ${T}, 1, ${T}, ${T + 30 * DAY}, NULL);
INSERT INTO refresh_used (family_id, token_hash) VALUES ('fam-1', 'h1');
INSERT INTO access_tokens (id, secret_hash, account_id, device_id, family_id, scopes, jkt, issued_at_ms, expires_at_ms)
  VALUES ('at-1', 'sh-1', 'acct-old', 'dev-1', 'fam-1', '["urn:qrelay:session"]', NULL, ${T}, ${T + DAY});
INSERT INTO auth_marks (device_id, at_ms) VALUES ('dev-1', ${T + 2});
INSERT INTO security_events (id, type, at_ms, device_id, details, expires_at_ms)
  VALUES (${T}, 'password_changed', ${T}, 'dev-1', NULL, ${T + 90 * DAY});`

describe('AccountObject over storage written by the earlier object', () => {
  it('reads every record back and writes on', async () => {
    const stub = env.RELAY_ACCOUNT.getByName(`old-${Date.now().toString(36)}:acct:acct-old`)
    const now = T + 1_000
    await runInDurableObject(stub, async (_instance, state) => {
      state.storage.sql.exec(EARLIER_SCHEMA)
      state.storage.sql.exec(EARLIER_ROWS)
      const object = new AccountObject(state, env)
      expect(await object.getAccount()).toMatchObject({ id: 'acct-old', username: 'Alice', version: 2 })
      expect(await object.createAccount({ ...(await object.getAccount())!, id: 'acct-old' }, 'alice')).toBe('exists')
      expect(await object.listDevices()).toEqual([
        {
          id: 'dev-1',
          accountId: 'acct-old',
          displayName: 'Laptop',
          origin: 'password',
          quarantineUntilMs: 0,
          createdAtMs: T,
          lastSeenAtMs: T,
        },
      ])
      // A column the object gained later (`recent_networks`, finding 49): added, and kept by touch.
      expect(await object.touchDevice('dev-1', { atMs: T + 5, network: '192.0.2.80' })).toBe(true)
      expect((await object.listDevices())[0]?.recentNetworks).toEqual([{ network: '192.0.2.80', atMs: T + 5 }])
      expect(await object.getAccess('at-1', now)).toMatchObject({ familyId: 'fam-1', scopes: ['urn:qrelay:session'] })
      expect(await object.countRecoveryCodes()).toBe(2)
      expect(await object.consumeRecoveryCode('rc-1')).toBe(true)
      expect(await object.useTotpStep(5)).toBe(false)
      expect(await object.useTotpStep(6)).toBe(true)
      expect(await object.lastAuthenticated('dev-1')).toBe(T + 2)
      expect((await object.readEvents(0, 10, now)).map((e) => e.id)).toEqual([T])
      const added = await object.appendEvent({ type: 'totp_enabled', atMs: now }, { maxEvents: 10, retentionMs: DAY }, now)
      expect(added?.id).toBe(now)
      expect((await object.rotateRefresh({ familyId: 'fam-1', presentedHash: 'h1', nextHash: 'h3', graceMs: 0 }, now)).outcome).toBe(
        'reused',
      )
      expect(await object.getAccess('at-1', now)).toBeNull()
      expect(await object.revokeDevice('dev-1', now)).toBe(true)
      expect(await object.lastAuthenticated('dev-1')).toBeNull()
      expect(await object.listDevices()).toEqual([])
      // The sign-in epoch (finding 47): the column is added to the earlier table, absent reads as none.
      const before = (await object.getAccount())!
      expect(before.authEpoch).toBeUndefined()
      expect(await object.updateAccount(before.version, { ...before, version: before.version + 1, authEpoch: 1 })).toBe('ok')
      expect((await object.getAccount())?.authEpoch).toBe(1)
      // What authorised a pending TOTP enrolment (finding 57): its column is added too.
      const epoch1 = (await object.getAccount())!
      const totp = { secret: 'PENDINGKEY', pending: { deviceId: 'dev-9', authEpoch: 1, expiresAtMs: now + 600_000 } }
      expect(await object.updateAccount(epoch1.version, { ...epoch1, version: epoch1.version + 1, totp })).toBe('ok')
      expect((await object.getAccount())?.totp).toEqual(totp)
    })
  })
})
