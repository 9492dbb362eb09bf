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

/**
 * How long an outbox remembers the id of a message it no longer holds (delivered, or a dead letter
 * removed), counted from the message's last `nextAttemptAtMs` (its last lease's end): an enqueue of
 * that id meanwhile is a no-op, so an event told again (a retry after a crash, with an id derived from
 * the event) is not sent twice. A day: far beyond the 60 s grace in which a retry can tell it again.
 * A claim forgets the ids past it (the outbox never reads a clock).
 */
export const COMPLETED_ID_MEMORY_MS = 24 * 3_600_000

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
  /**
   * Stores a new message (due at its `nextAttemptAtMs`); false, changing nothing, when its id exists
   * already in any state (waiting, leased, dead) or was completed within {@link COMPLETED_ID_MEMORY_MS}.
   */
  enqueue(message: Omit<WebhookMessage, 'attempts' | 'lastError'>): Promise<boolean>
  /**
   * Atomically leases up to `limit` due messages, oldest due first, for `leaseMs`; each comes back with
   * `attempts + 1`. Never one with an older live message of the same `orderKey` (head of line). Also
   * forgets the completed ids older than {@link COMPLETED_ID_MEMORY_MS} at `nowMs`.
   */
  claimDue(nowMs: number, limit: number, leaseMs: number): Promise<WebhookMessage[]>
  /**
   * Removes a delivered message (whoever holds it), remembering its id for {@link COMPLETED_ID_MEMORY_MS};
   * true when it was there.
   */
  complete(id: string): Promise<boolean>
  /** Makes the message due again at `nextAttemptAtMs`, if `attempts` still matches; true when it did. */
  reschedule(id: string, attempts: number, nextAttemptAtMs: number, lastError: string): Promise<boolean>
  /** Gives the message up (kept, counted, never claimed again), if `attempts` still matches. */
  deadLetter(id: string, attempts: number, lastError: string): Promise<boolean>
  /** Dead messages, oldest first, for inspection. */
  listDead(limit: number): Promise<WebhookMessage[]>
  counts(): Promise<WebhookOutboxCounts>
}
