/**
 * Operator webhooks on Node: when `QRELAY_WEBHOOK_URL` is set, a security-event sink that fills the
 * durable outbox and the worker that delivers it with the platform's fetch. The outbox lives in the
 * durable store's backend (the SQLite file, or Redis with QRELAY_STORE=redis), so nothing waiting is
 * lost across a restart.
 */
import type { Config } from '../config.ts'
import { parseWebhookSecret } from '../core/webhooks/signature.ts'
import type { Clock, Logger, Random, Scheduler, SecurityEvents, WebhookOutbox } from '../ports.ts'
import { webhookSecurityEvents, webhookWorker, type WebhookWorker } from '../services/webhooks.ts'

/** Running webhooks: the sink to join to the security events, and the worker (started). */
export interface NodeWebhooks {
  events: SecurityEvents
  worker: WebhookWorker
}

/** Fraction of a retry delay that jitter may take away. */
const JITTER_RATIO = 0.25

/**
 * Starts webhook delivery when the config names a URL; undefined otherwise. The caller stops the
 * worker before closing the store.
 *
 * @example
 * const webhooks = startNodeWebhooks(config, { outbox, clock, random, logger, scheduler })
 * await webhooks?.worker.stop()
 */
export const startNodeWebhooks = (
  config: Config,
  deps: { outbox: WebhookOutbox; clock: Clock; random: Random; logger: Logger; scheduler: Scheduler },
): NodeWebhooks | undefined => {
  const { url, secret } = config.webhooks
  if (url === undefined || secret === undefined) return undefined
  const secretKey = parseWebhookSecret(secret)
  if (secretKey === null) throw new Error('QRELAY_WEBHOOK_SECRET is not a whsec_ secret') // parseConfig checked it
  const logger = deps.logger.child({ component: 'webhooks' })
  const worker = webhookWorker({
    ...deps,
    logger,
    fetch: (target, init) => fetch(target, init),
    url,
    secretKey,
    maxAttempts: config.webhooks.maxAttempts,
    timeoutMs: config.webhooks.timeoutMs,
    backoff: { baseMs: config.webhooks.backoffBaseMs, maxMs: config.webhooks.backoffMaxMs, jitterRatio: JITTER_RATIO },
    pollIntervalMs: config.webhooks.pollIntervalMs,
  })
  const events = webhookSecurityEvents({ ...deps, logger, onEnqueued: () => worker.poke() })
  worker.start()
  logger.info({ host: new URL(url).host }, 'webhook delivery started')
  deps.outbox.counts().then(
    ({ pending, dead }) => logger.info({ pending, dead }, 'webhook outbox'),
    () => {},
  )
  return { events, worker }
}
