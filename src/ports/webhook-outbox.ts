/** A message of the {@link WebhookOutbox}: one JSON body for the operator's webhook URL. */
export interface WebhookMessage {
  /** Unique; sent as `webhook-id`, the same on every attempt, so receivers can deduplicate. */
  id: string
  /** The JSON body exactly as it is signed and sent. Never holds secrets. */
  body: string
  createdAtMs: number
  /**
   * Messages of one key (the account id) go out one at a time, oldest `(createdAtMs, id)` first:
   * {@link WebhookOutbox.claimDue} skips a message while an older live (not dead) one of its key
   * exists, leased or not. Absent: no order.
   */
  orderKey?: string
  /** When the message is next due (while leased: when the lease ends). */
  nextAttemptAtMs: number
  /** Attempts started so far; {@link WebhookOutbox.claimDue} adds one. Also the lease's fencing token. */
  attempts: number
  /** Why the last attempt failed (status or error kind; never a secret). */
  lastError?: string
}

/** How many messages an outbox holds (for /readyz-like introspection). */
export interface WebhookOutboxCounts {
  /** Waiting or leased: not delivered yet, not dead. */
  pending: number
  /** Given up after the last attempt; kept for inspection. */
  dead: number
}

/**
 * Durable outbox of operator webhooks (at-least-once delivery that survives restarts). A message is
 * due when `nextAttemptAtMs <= now`; claiming leases it by moving `nextAttemptAtMs` to the lease's
 * end, so two processes never hold the same message at once, and a crashed holder's lease simply
 * runs out. `reschedule` and `deadLetter` are fenced by `attempts`: a holder whose lease ran out and
 * was re-claimed by another changes nothing. Contract: `test/integration/durable/webhook-outbox-suite.ts`.
 */
export interface WebhookOutbox {
  /** Stores a new message (due at its `nextAttemptAtMs`); false when its id exists already. */
  enqueue(message: Omit<WebhookMessage, 'attempts' | 'lastError'>): Promise<boolean>
  /**
   * Atomically leases up to `limit` due messages, oldest due first, for `leaseMs`; each comes back with
   * `attempts + 1`. Never one with an older live message of the same `orderKey` (head of line).
   */
  claimDue(nowMs: number, limit: number, leaseMs: number): Promise<WebhookMessage[]>
  /** Removes a delivered message (whoever holds it); true when it was there. */
  complete(id: string): Promise<boolean>
  /** Makes the message due again at `nextAttemptAtMs`, if `attempts` still matches; true when it did. */
  reschedule(id: string, attempts: number, nextAttemptAtMs: number, lastError: string): Promise<boolean>
  /** Gives the message up (kept, counted, never claimed again), if `attempts` still matches. */
  deadLetter(id: string, attempts: number, lastError: string): Promise<boolean>
  /** Dead messages, oldest first, for inspection. */
  listDead(limit: number): Promise<WebhookMessage[]>
  counts(): Promise<WebhookOutboxCounts>
}
