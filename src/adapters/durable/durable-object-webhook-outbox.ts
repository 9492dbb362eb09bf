/**
 * The webhook outbox on Workers: one Durable Object (`webhook-outbox`) holding the messages in its
 * SQLite storage; every intent is one call of that object, so a claim is atomic like SQLite's
 * `BEGIN IMMEDIATE` on Node. Webhooks are a few per login, so one object is no bottleneck. The object
 * delivers by its own alarm (see `runtime/outbox-object.ts`): no process has to stay up.
 *
 * @see ../../ports.ts (WebhookOutbox)
 */
import type { WebhookMessage, WebhookOutbox, WebhookOutboxCounts } from '../../ports.ts'
import type { ObjectNamespace } from '../storage/durable-object.ts'

/** The RPC surface of the outbox object (the port, plus nothing). */
export interface OutboxObjectApi {
  enqueue(message: Omit<WebhookMessage, 'attempts' | 'lastError'>): Promise<boolean>
  claimDue(nowMs: number, limit: number, leaseMs: number): Promise<WebhookMessage[]>
  complete(id: string): Promise<boolean>
  reschedule(id: string, attempts: number, nextAttemptAtMs: number, lastError: string): Promise<boolean>
  deadLetter(id: string, attempts: number, lastError: string): Promise<boolean>
  listDead(limit: number): Promise<WebhookMessage[]>
  counts(): Promise<WebhookOutboxCounts>
}

/**
 * Builds the adapter over the `RELAY_OUTBOX` binding.
 *
 * @example
 * const outbox = durableObjectWebhookOutbox({ outboxes: env.RELAY_OUTBOX })
 */
export const durableObjectWebhookOutbox = (options: { outboxes: ObjectNamespace<OutboxObjectApi>; name?: string }): WebhookOutbox => {
  const stub = (): OutboxObjectApi => options.outboxes.getByName(options.name ?? 'webhook-outbox')
  return {
    enqueue: (message) => stub().enqueue(message),
    claimDue: (nowMs, limit, leaseMs) => stub().claimDue(nowMs, limit, leaseMs),
    complete: (id) => stub().complete(id),
    reschedule: (id, attempts, nextAttemptAtMs, lastError) => stub().reschedule(id, attempts, nextAttemptAtMs, lastError),
    deadLetter: (id, attempts, lastError) => stub().deadLetter(id, attempts, lastError),
    listDead: (limit) => stub().listDead(limit),
    counts: () => stub().counts(),
  }
}
