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

/**
 * The column that keeps the messages waiting behind an older live one of their key apart (SQLite file:
 * migration 10; an object adds it at start), its one-time fill for the rows stored before, and the index
 * of the others, the only ones a claim reads (finding 69): a claim that skipped the waiting ones read
 * every one of them, so one key's backlog made every claim as long as the backlog.
 */
export const OUTBOX_WAITING = {
  column: 'ALTER TABLE webhook_outbox ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0',
  backfill: `UPDATE webhook_outbox SET waiting = 1 WHERE dead = 0 AND order_key IS NOT NULL AND EXISTS (SELECT 1 FROM webhook_outbox o
    WHERE o.order_key = webhook_outbox.order_key AND o.dead = 0
    AND (o.created_at_ms, o.id) < (webhook_outbox.created_at_ms, webhook_outbox.id))`,
  index: 'CREATE INDEX IF NOT EXISTS webhook_outbox_ready ON webhook_outbox (next_attempt_at_ms, id) WHERE dead = 0 AND waiting = 0',
}

/**
 * Keeps `waiting` right for `orderKey` after a change of its live messages: its oldest live message (the
 * head) is not waiting, the one after it is. Only those two can have changed (a new message is stored
 * waiting; the head is the only one not), so it reads two rows of the key's index, whatever its backlog.
 */
const settleHead = (sql: SqlExecutor, orderKey: string): void => {
  sql.run(
    query(
      `UPDATE webhook_outbox SET waiting = (id <> (SELECT id FROM webhook_outbox h WHERE h.order_key = ? AND h.dead = 0
        ORDER BY h.created_at_ms, h.id LIMIT 1))
      WHERE id IN (SELECT id FROM webhook_outbox k WHERE k.order_key = ? AND k.dead = 0 ORDER BY k.created_at_ms, k.id LIMIT 2)`,
      orderKey,
      orderKey,
    ),
  )
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
          // The planner would take the older due index and read past every waiting message.
          `SELECT id FROM webhook_outbox INDEXED BY webhook_outbox_ready WHERE dead = 0 AND waiting = 0 AND next_attempt_at_ms <= ?
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

/**
 * Stores a message, in one transaction: one held (any state) or an id completed lately stays as it is;
 * a new one of a key is stored waiting, then the key's head is settled (the new one may be older).
 */
const enqueue = (sql: SqlExecutor, m: Omit<WebhookMessage, 'attempts' | 'lastError'>): boolean =>
  sql.transaction(() => {
    const stored =
      sql.run(
        query(
          `INSERT INTO webhook_outbox (id, body, created_at_ms, next_attempt_at_ms, order_key, waiting)
            SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM webhook_outbox_completed WHERE id = ?)
            ON CONFLICT DO NOTHING`,
          m.id,
          m.body,
          m.createdAtMs,
          m.nextAttemptAtMs,
          m.orderKey ?? null,
          m.orderKey === undefined ? 0 : 1,
          m.id,
        ),
      ) === 1
    if (stored && m.orderKey !== undefined) settleHead(sql, m.orderKey)
    return stored
  })

/** Removes a message (remembering its id) and lets the next of its key go. */
const complete = (sql: SqlExecutor, id: string): boolean =>
  sql.transaction(() => {
    sql.run(
      query(
        `INSERT INTO webhook_outbox_completed (id, at_ms) SELECT id, next_attempt_at_ms FROM webhook_outbox WHERE id = ?
          ON CONFLICT DO NOTHING`,
        id,
      ),
    )
    const removed = sql.get<{ order_key: string | null }>(query('DELETE FROM webhook_outbox WHERE id = ? RETURNING order_key', id))
    // The next message of its key, if any, is the head now.
    if (removed?.order_key !== undefined && removed.order_key !== null) settleHead(sql, removed.order_key)
    return removed !== undefined
  })

/** Gives a claimed message up; a dead message holds nothing back: the next of its key is the head now. */
const deadLetter = (sql: SqlExecutor, id: string, attempts: number, lastError: string): boolean =>
  sql.transaction(() => {
    const dead = sql.get<{ order_key: string | null }>(
      query(
        'UPDATE webhook_outbox SET dead = 1, last_error = ? WHERE id = ? AND attempts = ? AND dead = 0 RETURNING order_key',
        lastError,
        id,
        attempts,
      ),
    )
    if (dead?.order_key !== undefined && dead.order_key !== null) settleHead(sql, dead.order_key)
    return dead !== undefined
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
  enqueue: (m) => enqueue(sql, m),
  claimDue: (nowMs, limit, leaseMs) => claimDue(sql, nowMs, limit, leaseMs),
  complete: (id) => complete(sql, id),
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
  deadLetter: (id, attempts, lastError) => deadLetter(sql, id, attempts, lastError),
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
      query('SELECT min(next_attempt_at_ms) AS at FROM webhook_outbox INDEXED BY webhook_outbox_ready WHERE dead = 0 AND waiting = 0'),
    )?.at
    return at === null || at === undefined ? null : Number(at)
  },
})
