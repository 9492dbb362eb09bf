/**
 * Operator webhooks: every security event of an account goes into the durable {@link WebhookOutbox}
 * (the sink), and a delivery worker POSTs due messages to the operator's URL, signed the Standard
 * Webhooks way, retrying with capped, jittered exponential backoff and dead-lettering after the last
 * attempt. Delivery is at least once: a message leaves the outbox only after a 2xx, so a restart (or a
 * crash) in between delivers it again with the same `webhook-id`, which receivers deduplicate on.
 * The events of one account go out in the order they happened: each message carries the account as
 * its `orderKey`, and the outbox hands out only the oldest live one of each key (head of line), so a
 * later event never overtakes an earlier one that is still being retried.
 *
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
import { newOpaqueId } from '../core/crypto/secrets.ts'
import { afterFailure, jitterFrom, type BackoffPolicy } from '../core/webhooks/backoff.ts'
import { securityEventPayload } from '../core/webhooks/security-event-payload.ts'
import { naturalWebhookId } from '../core/webhooks/webhook-id.ts'
import { webhookHeaders } from '../core/webhooks/signature.ts'
import type { Clock, Logger, Random, Scheduler, SecurityEvents, WebhookMessage, WebhookOutbox } from '../ports.ts'

/** A short, secret-free name for an error: the kind, never a message that could echo a URL or body. */
const errorKind = (error: unknown): string => {
  if (!(error instanceof Error)) return 'error'
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timeout'
  const code = (error.cause as { code?: unknown } | undefined)?.code ?? (error as { code?: unknown }).code
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? `network error ${code}` : error.name
}

/** What the sink needs. `onEnqueued` wakes the worker so that a new event goes out at once. */
export interface WebhookSinkDeps {
  outbox: WebhookOutbox
  clock: Clock
  random: Random
  logger: Logger
  onEnqueued?: () => void
}

/**
 * A {@link SecurityEvents} sink that enqueues one webhook per event (per event with a natural identity,
 * however often it is told: `naturalWebhookId`). Never throws: a failed enqueue is logged (without the
 * event's contents) and the caller carries on.
 *
 * @example
 * const events = webhookSecurityEvents({ outbox, clock, random, logger, onEnqueued: worker.poke })
 */
export const webhookSecurityEvents = ({ outbox, clock, random, logger, onEnqueued }: WebhookSinkDeps): SecurityEvents => {
  // `createdAtMs` orders an account's messages; strictly increasing here, so two events of one
  // millisecond keep their order (ties would fall back to the random id).
  let lastCreatedAtMs = Number.NEGATIVE_INFINITY
  return {
    async emit(accountId, event) {
      // An event told twice (a retry after a crash) keeps its derived id: the outbox holds it once.
      const id = naturalWebhookId(accountId, event) ?? `msg_${newOpaqueId(random)}`
      try {
        const now = clock.now()
        lastCreatedAtMs = Math.max(now, lastCreatedAtMs + 1)
        const body = securityEventPayload(accountId, event)
        await outbox.enqueue({ id, body, createdAtMs: lastCreatedAtMs, orderKey: accountId, nextAttemptAtMs: now })
        onEnqueued?.()
      } catch (error) {
        logger.error({ webhookId: id, eventType: event.type, err: errorKind(error) }, 'webhook enqueue failed')
      }
    },
  }
}

/** The delivery worker's settings (from `config.webhooks`) and dependencies. */
export interface WebhookWorkerDeps {
  outbox: WebhookOutbox
  clock: Clock
  random: Random
  logger: Logger
  scheduler: Scheduler
  /** The platform's fetch (injected so tests and runtimes choose). */
  fetch: (url: string, init: RequestInit) => Promise<Response>
  url: string
  /** The key of the `whsec_` secret (see `parseWebhookSecret`). */
  secretKey: Uint8Array
  maxAttempts: number
  timeoutMs: number
  backoff: BackoffPolicy
  /** How often the worker looks for due messages when it has nothing to do. */
  pollIntervalMs: number
  /** Messages claimed (and sent in parallel) per round. */
  batchSize?: number
}

/** A running delivery loop. */
export interface WebhookWorker {
  /** Starts the loop (a first round at once). */
  start(): void
  /** Asks for a round as soon as possible (a new message was enqueued). */
  poke(): void
  /** Stops the loop and waits for the deliveries in flight. */
  stop(): Promise<void>
  /** One round: claims due messages and delivers them; resolves with how many were claimed. */
  runOnce(): Promise<number>
}

/**
 * Builds the delivery worker. A claimed message is leased for twice the timeout plus 10 s, so its
 * attempt has ended (or timed out) long before another process may claim it again.
 *
 * @example
 * const worker = webhookWorker({ outbox, clock, random, logger, scheduler, fetch, url, secretKey, … })
 * worker.start()
 * await worker.stop()
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: a worker whose start, stop, round and delivery share its timer and in-flight state; each is short
export const webhookWorker = (deps: WebhookWorkerDeps): WebhookWorker => {
  const { outbox, clock, random, logger, scheduler, url, secretKey, maxAttempts, timeoutMs, backoff } = deps
  const batchSize = deps.batchSize ?? 10
  const leaseMs = 2 * timeoutMs + 10_000
  let stopped = true
  let cancel: (() => void) | undefined
  let round: Promise<void> | undefined
  let again = false
  /** Deliveries completed so far: a round that completed one may have unblocked the next of its key. */
  let completed = 0

  const failed = async (message: WebhookMessage, why: string): Promise<void> => {
    const next = afterFailure(backoff, message.attempts, maxAttempts, clock.now(), jitterFrom(random))
    const fields = { webhookId: message.id, attempt: message.attempts, error: why }
    if (next.kind === 'dead') {
      await outbox.deadLetter(message.id, message.attempts, why)
      logger.error(fields, 'webhook dead-lettered after the last attempt')
    } else {
      await outbox.reschedule(message.id, message.attempts, next.atMs, why)
      logger.warn({ ...fields, retryInMs: next.atMs - clock.now() }, 'webhook delivery failed, will retry')
    }
  }

  const deliver = async (message: WebhookMessage): Promise<void> => {
    const headers = webhookHeaders(secretKey, message.id, clock.now(), message.body)
    let why: string
    try {
      const response = await deps.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'qrelay-webhooks', ...headers },
        body: message.body,
        // A redirect is a failure: following it would send the signed event somewhere not configured.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      })
      await response.body?.cancel().catch(() => {})
      if (response.status >= 200 && response.status < 300) {
        await outbox.complete(message.id)
        completed++
        logger.info({ webhookId: message.id, attempt: message.attempts }, 'webhook delivered')
        return
      }
      why = `status ${response.status}`
    } catch (error) {
      why = errorKind(error)
    }
    await failed(message, why)
  }

  const runOnce = async (): Promise<number> => {
    const due = await outbox.claimDue(clock.now(), batchSize, leaseMs)
    await Promise.all(
      due.map((message) =>
        // An outbox error leaves the message leased: it is tried again once the lease runs out.
        deliver(message).catch((error: unknown) =>
          logger.error({ webhookId: message.id, err: errorKind(error) }, 'webhook outbox update failed'),
        ),
      ),
    )
    return due.length
  }

  const arm = (delayMs: number): void => {
    cancel?.()
    cancel = scheduler.schedule(delayMs, tick)
  }
  function tick(): void {
    cancel = undefined
    if (stopped || round !== undefined) return
    again = false
    const completedBefore = completed
    round = runOnce()
      .then(
        (claimed) => claimed >= batchSize || completed > completedBefore,
        (error: unknown) => {
          logger.error({ err: errorKind(error) }, 'webhook claim failed')
          return false
        },
      )
      .then((full) => {
        round = undefined
        if (!stopped) arm(full || again ? 0 : deps.pollIntervalMs)
      })
  }

  return {
    start() {
      if (!stopped) return
      stopped = false
      arm(0)
    },
    poke() {
      if (stopped) return
      if (round !== undefined) again = true
      else arm(0)
    },
    async stop() {
      stopped = true
      cancel?.()
      cancel = undefined
      await round
    },
    runOnce,
  }
}
