/**
 * The Durable Object of the webhook outbox (see `adapters/durable/durable-object-webhook-outbox.ts`):
 * the messages in SQLite, each intent one synchronous step (the input gate lets nothing in between),
 * and delivery by the object's alarm: on each alarm it runs one round of the same delivery worker as
 * Node (`services/webhooks.ts`: Standard Webhooks signature, backoff, dead letters), then sets the
 * alarm for the next due message. An enqueue arms the alarm at once.
 */
import { DurableObject } from 'cloudflare:workers'
import type { OutboxObjectApi } from '../adapters/durable/durable-object-webhook-outbox.ts'
import { objectExecutor } from '../adapters/durable/sql/object-executor.ts'
import { OUTBOX_OBJECT_SCHEMA, OUTBOX_ORDER_KEY, OUTBOX_WAITING, type OutboxSql, outboxSql } from '../adapters/durable/sql/outbox-sql.ts'
import { consoleLogger, systemClock, webCryptoRandom } from '../adapters/platform/workers.ts'
import { parseConfig } from '../config.ts'
import { parseWebhookSecret } from '../core/webhooks/signature.ts'
import type { WebhookMessage, WebhookOutbox, WebhookOutboxCounts } from '../ports.ts'
import { webhookWorker } from '../services/webhooks.ts'
import { textVars } from './workers-relay.ts'

/** Retry the alarm this long after a round that could not run (no settings, a store error). */
const IDLE_RECHECK_MS = 60_000

/** The deployment's webhook outbox. */
export class OutboxObject extends DurableObject<Env> implements OutboxObjectApi {
  readonly #outbox: OutboxSql

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    for (const step of OUTBOX_OBJECT_SCHEMA) ctx.storage.sql.exec(step)
    // Objects created before the order key get the column here.
    const columns = ctx.storage.sql.exec<{ name: string }>('PRAGMA table_info(webhook_outbox)').toArray()
    if (!columns.some((c) => c.name === 'order_key')) ctx.storage.sql.exec(OUTBOX_ORDER_KEY.column)
    ctx.storage.sql.exec(OUTBOX_ORDER_KEY.index)
    // …and the messages waiting behind an older one of their key kept apart (finding 69), once.
    if (!columns.some((c) => c.name === 'waiting')) {
      ctx.storage.sql.exec(OUTBOX_WAITING.column)
      ctx.storage.sql.exec(OUTBOX_WAITING.backfill)
    }
    ctx.storage.sql.exec(OUTBOX_WAITING.index)
    this.#outbox = outboxSql(objectExecutor(ctx.storage))
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
    const inserted = this.#outbox.enqueue(m)
    if (inserted) await this.#armBy(m.nextAttemptAtMs)
    return inserted
  }

  async claimDue(nowMs: number, limit: number, leaseMs: number): Promise<WebhookMessage[]> {
    return this.#outbox.claimDue(nowMs, limit, leaseMs)
  }

  async complete(id: string): Promise<boolean> {
    return this.#outbox.complete(id)
  }

  async reschedule(id: string, attempts: number, nextAttemptAtMs: number, lastError: string): Promise<boolean> {
    const changed = this.#outbox.reschedule(id, attempts, nextAttemptAtMs, lastError)
    if (changed) await this.#armBy(nextAttemptAtMs)
    return changed
  }

  async deadLetter(id: string, attempts: number, lastError: string): Promise<boolean> {
    return this.#outbox.deadLetter(id, attempts, lastError)
  }

  async listDead(limit: number): Promise<WebhookMessage[]> {
    return this.#outbox.listDead(limit)
  }

  async counts(): Promise<WebhookOutboxCounts> {
    return this.#outbox.counts()
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
    let claimed = 0
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
      claimed = await worker.runOnce()
    }
    // The next message that may go out: a message waiting behind an older one of its key does not count.
    const next = this.#outbox.nextDueAtMs()
    if (next === null) return
    if (url === undefined) return this.ctx.storage.setAlarm(Date.now() + IDLE_RECHECK_MS)
    // A round that claimed messages made progress (each is delivered, rescheduled or leased): what is due
    // now goes at once, as Node's worker does after a full batch. A one-second floor after every round
    // delivered at most a batch (10) a second (finding 82). A round that claimed nothing keeps the floor.
    await this.ctx.storage.setAlarm(Math.max(next, claimed > 0 ? Date.now() : Date.now() + 1_000))
  }
}
