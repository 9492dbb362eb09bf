/**
 * The webhook outbox's statements, shared by the Node file (`../sqlite-webhook-outbox.ts`) and the
 * outbox Durable Object (`../../../runtime/outbox-object.ts`) through a {@link SqlExecutor}. Every
 * intent is one statement, or one transaction for a claim, so it is atomic on either side.
 */
import { COMPLETED_ID_MEMORY_MS, type WebhookMessage, type WebhookOutboxCounts } from '../../../ports.ts'
import { query, type SqlExecutor } from './executor.ts'

/** The outbox table of an object, idempotent steps applied at every start (the Node file migrates). */
export const OUTBOX_OBJECT_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS webhook_outbox (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at_ms INTEGER NOT NULL,
    next_attempt_at_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    dead INTEGER NOT NULL DEFAULT 0)`,
  'CREATE INDEX IF NOT EXISTS webhook_outbox_by_due ON webhook_outbox (dead, next_attempt_at_ms, id)',
  // The ids of completed messages (SQLite file: migration 5), by the end of their last lease.
  'CREATE TABLE IF NOT EXISTS webhook_outbox_completed (id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL) WITHOUT ROWID',
  'CREATE INDEX IF NOT EXISTS webhook_outbox_completed_by_age ON webhook_outbox_completed (at_ms)',
]

/** The column the object schema gained later, and the index over it (ALTER TABLE has no IF NOT EXISTS). */
export const OUTBOX_ORDER_KEY = {
  column: 'ALTER TABLE webhook_outbox ADD COLUMN order_key TEXT',
  index: 'CREATE INDEX IF NOT EXISTS webhook_outbox_by_order ON webhook_outbox (order_key, created_at_ms, id) WHERE dead = 0',
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

/** Completed ids forgotten per claim at most (claims come every poll, so the backlog drains). */
const FORGET_BATCH = 500

/** Leases the due messages at the head of their keys; the transaction takes the write lock before
 * the read, so two processes never both see a message as due. */
const claimDue = (sql: SqlExecutor, nowMs: number, limit: number, leaseMs: number): WebhookMessage[] =>
  sql.transaction(() => {
    // Forget the completed ids past their memory (a bounded batch per claim).
    sql.run(
      query(
        `DELETE FROM webhook_outbox_completed WHERE id IN
          (SELECT id FROM webhook_outbox_completed WHERE at_ms <= ? ORDER BY at_ms LIMIT ?)`,
        nowMs - COMPLETED_ID_MEMORY_MS,
        FORGET_BATCH,
      ),
    )
    return sql
      .all<{ id: string }>(
        query(
          `SELECT id FROM webhook_outbox w WHERE dead = 0 AND next_attempt_at_ms <= ? AND ${NO_OLDER_OF_KEY}
            ORDER BY next_attempt_at_ms, id LIMIT ?`,
          nowMs,
          limit,
        ),
      )
      .map(({ id }) =>
        toMessage(
          sql.get<OutboxRow>(
            query(
              `UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at_ms = ? WHERE id = ? RETURNING ${COLUMNS}`,
              nowMs + leaseMs,
              id,
            ),
          ) as OutboxRow,
        ),
      )
  })

/** The outbox intents over one database, synchronous (the callers add retries or alarms). */
export interface OutboxSql {
  enqueue(m: Omit<WebhookMessage, 'attempts' | 'lastError'>): boolean
  claimDue(nowMs: number, limit: number, leaseMs: number): WebhookMessage[]
  complete(id: string): boolean
  reschedule(id: string, attempts: number, nextAttemptAtMs: number, lastError: string): boolean
  deadLetter(id: string, attempts: number, lastError: string): boolean
  listDead(limit: number): WebhookMessage[]
  counts(): WebhookOutboxCounts
  /** When the next message that may go out is due (one waiting behind an older one of its key does not count). */
  nextDueAtMs(): number | null
}

/**
 * The outbox's statements run through `sql`.
 *
 * @example
 * const outbox = outboxSql(objectExecutor(this.ctx.storage))
 */
export const outboxSql = (sql: SqlExecutor): OutboxSql => ({
  // One statement: a message held (any state) or an id completed lately stays as it is.
  enqueue: (m) =>
    sql.run(
      query(
        `INSERT INTO webhook_outbox (id, body, created_at_ms, next_attempt_at_ms, order_key)
        SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM webhook_outbox_completed WHERE id = ?)
        ON CONFLICT DO NOTHING`,
        m.id,
        m.body,
        m.createdAtMs,
        m.nextAttemptAtMs,
        m.orderKey ?? null,
        m.id,
      ),
    ) === 1,
  claimDue: (nowMs, limit, leaseMs) => claimDue(sql, nowMs, limit, leaseMs),
  complete: (id) =>
    sql.transaction(() => {
      sql.run(
        query(
          `INSERT INTO webhook_outbox_completed (id, at_ms) SELECT id, next_attempt_at_ms FROM webhook_outbox WHERE id = ?
          ON CONFLICT DO NOTHING`,
          id,
        ),
      )
      return sql.run(query('DELETE FROM webhook_outbox WHERE id = ?', id)) === 1
    }),
  reschedule: (id, attempts, nextAttemptAtMs, lastError) =>
    sql.run(
      query(
        'UPDATE webhook_outbox SET next_attempt_at_ms = ?, last_error = ? WHERE id = ? AND attempts = ? AND dead = 0',
        nextAttemptAtMs,
        lastError,
        id,
        attempts,
      ),
    ) === 1,
  deadLetter: (id, attempts, lastError) =>
    sql.run(
      query('UPDATE webhook_outbox SET dead = 1, last_error = ? WHERE id = ? AND attempts = ? AND dead = 0', lastError, id, attempts),
    ) === 1,
  listDead: (limit) =>
    sql
      .all<OutboxRow>(query(`SELECT ${COLUMNS} FROM webhook_outbox WHERE dead = 1 ORDER BY next_attempt_at_ms, id LIMIT ?`, limit))
      .map(toMessage),
  counts: () => {
    const rows = sql.all<{ dead: number; n: number }>(query('SELECT dead, count(*) AS n FROM webhook_outbox GROUP BY dead'))
    const of = (dead: number): number => Number(rows.find((r) => Number(r.dead) === dead)?.n ?? 0)
    return { pending: of(0), dead: of(1) }
  },
  nextDueAtMs: () => {
    const at = sql.get<{ at: number | null }>(
      query(`SELECT min(next_attempt_at_ms) AS at FROM webhook_outbox w WHERE dead = 0 AND ${NO_OLDER_OF_KEY}`),
    )?.at
    return at === null || at === undefined ? null : Number(at)
  },
})
