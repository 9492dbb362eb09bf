/**
 * Schema of the SQLite durable store, as an ordered list of migrations. The applied version lives in
 * `PRAGMA user_version`; {@link migrate} runs the missing steps in one `BEGIN IMMEDIATE` transaction,
 * so two processes opening one file at once migrate it once, and a failed step leaves it untouched.
 * A migration, once released, is never edited: add the next one.
 *
 * @see https://www.sqlite.org/pragma.html#pragma_user_version
 */
import type Database from 'libsql'
import { OUTBOX_WAITING } from './sql/outbox-sql.ts'

/** One schema step: `sql` takes the schema from `version - 1` to `version`. */
export interface Migration {
  version: number
  description: string
  sql: string
}

/** Every schema step, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'accounts, recovery codes, devices, refresh families, access tokens',
    sql: `
      CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        username_key TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
        locked_until_ms INTEGER NOT NULL,
        totp_secret TEXT,
        totp_confirmed_at_ms INTEGER,
        last_totp_step INTEGER NOT NULL DEFAULT -1,
        version INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE recovery_codes (
        account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        code_hash TEXT NOT NULL,
        PRIMARY KEY (account_id, code_hash)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE devices (
        account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        display_name TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('password', 'qr')),
        approved_by_device_id TEXT,
        channel_hash TEXT,
        quarantine_until_ms INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        last_seen_at_ms INTEGER NOT NULL,
        last_seen_network TEXT,
        PRIMARY KEY (account_id, id)
      ) STRICT, WITHOUT ROWID;

      -- Families outlive their device (no foreign key to it), so that a token of a signed-out device
      -- is answered 'revoked' until the family expires.
      CREATE TABLE refresh_families (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        device_id TEXT NOT NULL,
        scopes TEXT NOT NULL,
        jkt TEXT,
        current_hash TEXT NOT NULL,
        previous_hash TEXT,
        rotated_at_ms INTEGER,
        generation INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        revoked_at_ms INTEGER
      ) STRICT;
      CREATE INDEX refresh_families_by_device ON refresh_families (account_id, device_id);
      CREATE INDEX refresh_families_by_expiry ON refresh_families (expires_at_ms);

      -- Every token rotated out of a family: presenting one again is a replay.
      CREATE TABLE refresh_used (
        family_id TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
        token_hash TEXT NOT NULL,
        PRIMARY KEY (family_id, token_hash)
      ) STRICT, WITHOUT ROWID;

      -- Deleting a device deletes its access tokens in the same statement.
      CREATE TABLE access_tokens (
        id TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        account_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        family_id TEXT,
        scopes TEXT NOT NULL,
        jkt TEXT,
        issued_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, id) ON DELETE CASCADE
      ) STRICT;
      CREATE INDEX access_tokens_by_device ON access_tokens (account_id, device_id);
      CREATE INDEX access_tokens_by_family ON access_tokens (family_id);
      CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at_ms);
    `,
  },
  {
    version: 2,
    description: 'webhook outbox',
    sql: `
      -- Operator webhooks waiting for delivery (and the dead ones, kept for inspection). A leased
      -- message has next_attempt_at_ms at its lease's end; attempts is the lease's fencing token.
      CREATE TABLE webhook_outbox (
        id TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        next_attempt_at_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        dead INTEGER NOT NULL DEFAULT 0 CHECK (dead IN (0, 1))
      ) STRICT;
      CREATE INDEX webhook_outbox_by_due ON webhook_outbox (dead, next_attempt_at_ms, id);
    `,
  },
  {
    version: 3,
    description: 'security state: last-authenticated marks and the account security-event feed',
    sql: `
      -- When the user last proved a credential on a device (goes with the device).
      CREATE TABLE auth_marks (
        account_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (account_id, device_id),
        FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, id) ON DELETE CASCADE
      ) STRICT, WITHOUT ROWID;

      -- The account's security-event feed: id is the per-account cursor; details is JSON.
      CREATE TABLE security_events (
        account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        type TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        device_id TEXT,
        details TEXT,
        expires_at_ms INTEGER NOT NULL,
        PRIMARY KEY (account_id, id)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    description: 'webhook outbox: an order key per message (the account), delivered oldest first per key',
    sql: `
      ALTER TABLE webhook_outbox ADD COLUMN order_key TEXT;
      CREATE INDEX webhook_outbox_by_order ON webhook_outbox (order_key, created_at_ms, id) WHERE dead = 0;
    `,
  },
  {
    version: 5,
    description: 'webhook outbox: the ids of completed messages, remembered for a day so a re-enqueue is a no-op',
    sql: `
      CREATE TABLE webhook_outbox_completed (
        id TEXT PRIMARY KEY,
        at_ms INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX webhook_outbox_completed_by_age ON webhook_outbox_completed (at_ms);
    `,
  },
  {
    version: 6,
    description: 'accounts: the sign-in epoch (sign-ins authorised under an earlier one never mint, finding 47)',
    sql: `
      ALTER TABLE accounts ADD COLUMN auth_epoch INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 7,
    description: 'devices: the networks each was seen on lately (finding 49)',
    sql: `
      -- DeviceRecord.recentNetworks as JSON, kept by devices.touch; NULL on devices made before.
      ALTER TABLE devices ADD COLUMN recent_networks TEXT;
    `,
  },
  {
    version: 8,
    description: 'accounts: what authorised a pending TOTP enrolment (finding 57)',
    sql: `
      -- TotpEnrolment.pending as JSON (device, sign-in epoch, expiry); NULL on a confirmed key, and on a
      -- pending one stored before (which nothing confirms: the owner starts again).
      ALTER TABLE accounts ADD COLUMN totp_pending TEXT;
    `,
  },
  {
    version: 9,
    description: 'refresh_used: the generation of each rotated-out token, to keep only the newest (finding 63)',
    sql: `
      -- The family's generation of the rotated-out token; rows stored before are 0 (dropped first).
      ALTER TABLE refresh_used ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 10,
    description: 'webhook outbox: the messages waiting behind an older one of their key, apart (finding 69)',
    sql: `
      -- 1 while an older live message of the same order key exists: a claim reads only the others.
      ${OUTBOX_WAITING.column};
      ${OUTBOX_WAITING.backfill};
      ${OUTBOX_WAITING.index};
    `,
  },
]

/** Thrown at open when the file was written by a newer qrelay: running on it could corrupt it. */
export class SchemaVersionError extends Error {
  override readonly name = 'SchemaVersionError'
}

const userVersion = (db: Database.Database): number =>
  Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version)

/**
 * Brings the schema up to the last migration, in one immediate transaction. Idempotent.
 * Throws SchemaVersionError when the file's version is newer than the last known migration.
 *
 * @example
 * const { from, to } = migrate(db) // { from: 0, to: 1 } on a new file, { from: 1, to: 1 } after
 */
export const migrate = (db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): { from: number; to: number } => {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i} has version ${m.version}, expected ${i + 1}`)
  })
  const latest = migrations.length
  const check = (version: number): void => {
    if (version > latest) {
      throw new SchemaVersionError(
        `the database schema is at version ${version}, newer than this qrelay knows (${latest}): ` +
          'run a qrelay release that knows it, or restore a backup made by this one',
      )
    }
  }
  const from = userVersion(db)
  check(from)
  if (from === latest) return { from, to: from }
  db.transaction(() => {
    // Read again under the write lock: another process may have migrated in between.
    const current = userVersion(db)
    check(current)
    for (const m of migrations.slice(current)) {
      db.exec(m.sql)
      db.exec(`PRAGMA user_version = ${m.version}`)
    }
  }).immediate()
  return { from, to: latest }
}
