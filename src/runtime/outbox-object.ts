/**
 * The Durable Object of the webhook outbox (see `adapters/durable/durable-object-webhook-outbox.ts`):
 * the messages in SQLite, each intent one synchronous step (the input gate lets nothing in between),
 * and delivery by the object's alarm: on each alarm it runs one round of the same delivery worker as
 * Node (`services/webhooks.ts`: Standard Webhooks signature, backoff, dead letters), then sets the
 * alarm for the next due message. An enqueue arms the alarm at once.
 */
import { DurableObject } from 'cloudflare:workers'
import type { OutboxObjectApi } from '../adapters/durable/durable-object-webhook-outbox.ts'
import { consoleLogger, systemClock, webCryptoRandom } from '../adapters/platform/workers.ts'
import { parseConfig } from '../config.ts'
import { parseWebhookSecret } from '../core/webhooks/signature.ts'
import type { WebhookMessage, WebhookOutbox, WebhookOutboxCounts } from '../ports.ts'
import { webhookWorker } from '../services/webhooks.ts'
import { textVars } from './workers-relay.ts'

interface OutboxRow extends Record<string, SqlStorageValue> {
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
/** Retry the alarm this long after a round that could not run (no settings, a store error). */
const IDLE_RECHECK_MS = 60_000

const toMessage = (row: OutboxRow): WebhookMessage => ({
  id: row.id,
  body: row.body,
  createdAtMs: Number(row.created_at_ms),
  nextAttemptAtMs: Number(row.next_attempt_at_ms),
  attempts: Number(row.attempts),
  ...(row.order_key === null ? {} : { orderKey: row.order_key }),
  ...(row.last_error === null ? {} : { lastError: row.last_error }),
})

/** The deployment's webhook outbox. */
export class OutboxObject extends DurableObject<Env> implements OutboxObjectApi {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS webhook_outbox (
      id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at_ms INTEGER NOT NULL,
      next_attempt_at_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
      dead INTEGER NOT NULL DEFAULT 0)`)
    ctx.storage.sql.exec('CREATE INDEX IF NOT EXISTS webhook_outbox_by_due ON webhook_outbox (dead, next_attempt_at_ms, id)')
    // Added later: objects created before it get the column here (ALTER TABLE has no IF NOT EXISTS).
    const columns = ctx.storage.sql.exec<{ name: string }>('PRAGMA table_info(webhook_outbox)').toArray()
    if (!columns.some((c) => c.name === 'order_key')) ctx.storage.sql.exec('ALTER TABLE webhook_outbox ADD COLUMN order_key TEXT')
    ctx.storage.sql.exec(
      'CREATE INDEX IF NOT EXISTS webhook_outbox_by_order ON webhook_outbox (order_key, created_at_ms, id) WHERE dead = 0',
    )
  }

  #sql<T extends Record<string, SqlStorageValue>>(query: string, ...params: SqlStorageValue[]): SqlStorageCursor<T> {
    return this.ctx.storage.sql.exec<T>(query, ...params)
  }

  /** The outbox as the delivery worker sees it: this object's own methods, no RPC. */
  readonly #local: WebhookOutbox = {
    enqueue: (m) => this.enqueue(m),
    claimDue: (nowMs, limit, leaseMs) => this.claimDue(nowMs, limit, leaseMs),
    complete: (id) => this.complete(id),
    reschedule: (id, attempts, at, error) => this.reschedule(id, attempts, at, error),
    deadLetter: (id, attempts, error) => this.deadLetter(id, attempts, error),
    listDead: (limit) => this.listDead(limit),
    counts: () => this.counts(),
  }

  async enqueue(m: Omit<WebhookMessage, 'attempts' | 'lastError'>): Promise<boolean> {
    const inserted = this.#sql(
      'INSERT INTO webhook_outbox (id, body, created_at_ms, next_attempt_at_ms, order_key) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id',
      m.id,
      m.body,
      m.createdAtMs,
      m.nextAttemptAtMs,
      m.orderKey ?? null,
    ).toArray().length
    if (inserted === 1) await this.#armBy(m.nextAttemptAtMs)
    return inserted === 1
  }

  async claimDue(nowMs: number, limit: number, leaseMs: number): Promise<WebhookMessage[]> {
    return this.ctx.storage.transactionSync(() => {
      const due = this.#sql<{ id: string }>(
        `SELECT id FROM webhook_outbox w WHERE dead = 0 AND next_attempt_at_ms <= ? AND ${NO_OLDER_OF_KEY} ORDER BY next_attempt_at_ms, id LIMIT ?`,
        nowMs,
        limit,
      ).toArray()
      return due.map(({ id }) =>
        toMessage(
          this.#sql<OutboxRow>(
            `UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at_ms = ? WHERE id = ? RETURNING ${COLUMNS}`,
            nowMs + leaseMs,
            id,
          ).one(),
        ),
      )
    })
  }

  async complete(id: string): Promise<boolean> {
    return this.#sql('DELETE FROM webhook_outbox WHERE id = ? RETURNING id', id).toArray().length === 1
  }

  async reschedule(id: string, attempts: number, nextAttemptAtMs: number, lastError: string): Promise<boolean> {
    const changed =
      this.#sql(
        'UPDATE webhook_outbox SET next_attempt_at_ms = ?, last_error = ? WHERE id = ? AND attempts = ? AND dead = 0 RETURNING id',
        nextAttemptAtMs,
        lastError,
        id,
        attempts,
      ).toArray().length === 1
    if (changed) await this.#armBy(nextAttemptAtMs)
    return changed
  }

  async deadLetter(id: string, attempts: number, lastError: string): Promise<boolean> {
    return (
      this.#sql(
        'UPDATE webhook_outbox SET dead = 1, last_error = ? WHERE id = ? AND attempts = ? AND dead = 0 RETURNING id',
        lastError,
        id,
        attempts,
      ).toArray().length === 1
    )
  }

  async listDead(limit: number): Promise<WebhookMessage[]> {
    return this.#sql<OutboxRow>(`SELECT ${COLUMNS} FROM webhook_outbox WHERE dead = 1 ORDER BY next_attempt_at_ms, id LIMIT ?`, limit)
      .toArray()
      .map(toMessage)
  }

  async counts(): Promise<WebhookOutboxCounts> {
    const rows = this.#sql<{ dead: number; n: number }>('SELECT dead, count(*) AS n FROM webhook_outbox GROUP BY dead').toArray()
    const of = (dead: number): number => Number(rows.find((r) => Number(r.dead) === dead)?.n ?? 0)
    return { pending: of(0), dead: of(1) }
  }

  /** Sets the alarm to `atMs` unless one is due earlier already. */
  async #armBy(atMs: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm()
    if (current === null || current > atMs) await this.ctx.storage.setAlarm(Math.max(atMs, Date.now()))
  }

  /** One delivery round, then the alarm for the next pending message (or a lease's end). */
  override async alarm(): Promise<void> {
    const config = parseConfig(textVars(this.env))
    const { url, secret } = config.webhooks
    const secretKey = secret === undefined ? null : parseWebhookSecret(secret)
    if (url !== undefined && secretKey !== null) {
      const worker = webhookWorker({
        outbox: this.#local,
        clock: systemClock,
        random: webCryptoRandom,
        logger: consoleLogger(config.server.logLevel).child({ component: 'webhooks' }),
        scheduler: { schedule: () => () => {} },
        fetch: (target, init) => fetch(target, init),
        url,
        secretKey,
        maxAttempts: config.webhooks.maxAttempts,
        timeoutMs: config.webhooks.timeoutMs,
        backoff: { baseMs: config.webhooks.backoffBaseMs, maxMs: config.webhooks.backoffMaxMs, jitterRatio: 0.25 },
        pollIntervalMs: config.webhooks.pollIntervalMs,
      })
      await worker.runOnce()
    }
    // The next message that may go out: a message waiting behind an older one of its key does not count.
    const next = this.#sql<{ at: number | null }>(
      `SELECT min(next_attempt_at_ms) AS at FROM webhook_outbox w WHERE dead = 0 AND ${NO_OLDER_OF_KEY}`,
    ).one().at
    if (next !== null)
      await this.ctx.storage.setAlarm(url === undefined ? Date.now() + IDLE_RECHECK_MS : Math.max(Number(next), Date.now() + 1_000))
  }
}
