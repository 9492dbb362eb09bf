/**
 * Webhook outbox in the SQLite file of the durable store (tables `webhook_outbox` and `webhook_outbox_completed`, migrations 2, 4 and 5). Each
 * intent is one statement or one `BEGIN IMMEDIATE` transaction (`./sql/outbox-sql.ts`), so a claim is
 * atomic against this process and against every other process on the same file (SQLite's write lock).
 */
import type Database from 'libsql'
import type { WebhookOutbox } from '../../ports.ts'
import { libsqlExecutor } from './sql/libsql-executor.ts'
import { outboxSql } from './sql/outbox-sql.ts'
import { migrateWaiting, retryWhileBusy } from './sqlite-busy.ts'

/** Options of {@link sqliteWebhookOutbox}: an open database (see `openSqlite`). */
export interface SqliteWebhookOutboxOptions {
  db: Database.Database
}

/**
 * Builds the SQLite outbox, migrating the schema first. The caller owns and closes `db`.
 *
 * @example
 * const outbox = sqliteWebhookOutbox({ db: openSqlite(config.storage.dataDir) })
 */
export const sqliteWebhookOutbox = ({ db }: SqliteWebhookOutboxOptions): WebhookOutbox => {
  migrateWaiting(db)
  const sql = outboxSql(libsqlExecutor(db))
  return {
    // Writes retry a busy lock without blocking the process (bounded, see sqlite-busy.ts).
    enqueue: retryWhileBusy(sql.enqueue),
    claimDue: retryWhileBusy(sql.claimDue),
    complete: retryWhileBusy(sql.complete),
    reschedule: retryWhileBusy(sql.reschedule),
    deadLetter: retryWhileBusy(sql.deadLetter),
    listDead: async (limit) => sql.listDead(limit),
    counts: async () => sql.counts(),
  }
}
