/**
 * The webhook outbox on Workers: one Durable Object (`webhook-outbox`) holding the messages in its
 * SQLite storage; every intent is one call of that object, so a claim is atomic like SQLite's
 * `BEGIN IMMEDIATE` on Node. Webhooks are a few per login, so one object is no bottleneck. The object
 * delivers by its own alarm (see `runtime/outbox-object.ts`): no process has to stay up.
 *
 * @see ../../ports.ts (WebhookOutbox)
 */
import type { WebhookOutbox } from '../../ports.ts'
import type { ObjectNamespace } from '../storage/durable-object.ts'

/** The RPC surface of the outbox object: exactly the port, so the two cannot drift apart. */
export type OutboxObjectApi = WebhookOutbox

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
