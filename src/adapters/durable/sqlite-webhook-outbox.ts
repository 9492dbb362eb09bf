/**
 * Webhook outbox in the SQLite file of the durable store (table `webhook_outbox`, migrations 2 and 4). Each
 * intent is one statement or one `BEGIN IMMEDIATE` transaction, so a claim is atomic against this
 * process and against every other process on the same file (SQLite's write lock).
 */
import type Database from 'libsql'
import type { WebhookMessage, WebhookOutbox } from '../../ports.ts'
import { migrateWaiting, retryWhileBusy } from './sqlite-busy.ts'

/** Options of {@link sqliteWebhookOutbox}: an open database (see `openSqlite`). */
export interface SqliteWebhookOutboxOptions {
  db: Database.Database
}

interface OutboxRow {
  id: string
  body: string
  created_at_ms: number
  next_attempt_at_ms: number
  attempts: number
  last_error: string | null
  order_key: string | null
}

const COLUMNS = 'id, body, created_at_ms, next_attempt_at_ms, attempts, last_error, order_key'

/** Head of line: no older live message of the same order key (`w` is the candidate row). */
const NO_OLDER_OF_KEY = `(w.order_key IS NULL OR NOT EXISTS (SELECT 1 FROM webhook_outbox o
  WHERE o.order_key = w.order_key AND o.dead = 0 AND (o.created_at_ms, o.id) < (w.created_at_ms, w.id)))`

const toMessage = (row: OutboxRow): WebhookMessage => ({
  id: row.id,
  body: row.body,
  createdAtMs: Number(row.created_at_ms),
  nextAttemptAtMs: Number(row.next_attempt_at_ms),
  attempts: Number(row.attempts),
  ...(row.order_key === null ? {} : { orderKey: row.order_key }),
  ...(row.last_error === null ? {} : { lastError: row.last_error }),
})

/**
 * Builds the SQLite outbox, migrating the schema first. The caller owns and closes `db`.
 *
 * @example
 * const outbox = sqliteWebhookOutbox({ db: openSqlite(config.storage.dataDir) })
 */
export const sqliteWebhookOutbox = ({ db }: SqliteWebhookOutboxOptions): WebhookOutbox => {
  migrateWaiting(db)
  const sql = (source: string) => db.prepare(source)
  const q = {
    insert: sql(`INSERT INTO webhook_outbox (id, body, created_at_ms, next_attempt_at_ms, order_key)
      VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    due: sql(`SELECT id FROM webhook_outbox w WHERE dead = 0 AND next_attempt_at_ms <= ? AND ${NO_OLDER_OF_KEY}
      ORDER BY next_attempt_at_ms, id LIMIT ?`),
    lease: sql(`UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at_ms = ?
      WHERE id = ? RETURNING ${COLUMNS}`),
    delete: sql('DELETE FROM webhook_outbox WHERE id = ?'),
    reschedule: sql(`UPDATE webhook_outbox SET next_attempt_at_ms = ?, last_error = ?
      WHERE id = ? AND attempts = ? AND dead = 0`),
    deadLetter: sql('UPDATE webhook_outbox SET dead = 1, last_error = ? WHERE id = ? AND attempts = ? AND dead = 0'),
    listDead: sql(`SELECT ${COLUMNS} FROM webhook_outbox WHERE dead = 1 ORDER BY next_attempt_at_ms, id LIMIT ?`),
    counts: sql('SELECT dead, count(*) AS n FROM webhook_outbox GROUP BY dead'),
  }
  // The write lock is taken before the read: two processes never both see a message as due.
  const claim = db.transaction((nowMs: number, limit: number, leaseMs: number): WebhookMessage[] => {
    const ids = q.due.all(nowMs, limit) as Array<{ id: string }>
    return ids.map(({ id }) => toMessage(q.lease.get(nowMs + leaseMs, id) as OutboxRow))
  })
  return {
    // Writes retry a busy lock without blocking the process (bounded, see sqlite-busy.ts).
    enqueue: retryWhileBusy(
      (m: Omit<WebhookMessage, 'attempts' | 'lastError'>) =>
        q.insert.run(m.id, m.body, m.createdAtMs, m.nextAttemptAtMs, m.orderKey ?? null).changes === 1,
    ),
    claimDue: retryWhileBusy((nowMs: number, limit: number, leaseMs: number) => claim.immediate(nowMs, limit, leaseMs) as WebhookMessage[]),
    complete: retryWhileBusy((id: string) => q.delete.run(id).changes === 1),
    reschedule: retryWhileBusy(
      (id: string, attempts: number, nextAttemptAtMs: number, lastError: string) =>
        q.reschedule.run(nextAttemptAtMs, lastError, id, attempts).changes === 1,
    ),
    deadLetter: retryWhileBusy(
      (id: string, attempts: number, lastError: string) => q.deadLetter.run(lastError, id, attempts).changes === 1,
    ),
    listDead: async (limit) => (q.listDead.all(limit) as OutboxRow[]).map(toMessage),
    async counts() {
      const rows = q.counts.all() as Array<{ dead: number; n: number }>
      const of = (dead: number): number => Number(rows.find((r) => Number(r.dead) === dead)?.n ?? 0)
      return { pending: of(0), dead: of(1) }
    },
  }
}
