/**
 * The metrics port: what the services, the request middleware and the store wrapper record, in the
 * project's words (a channel created, a login refused), never in a metrics library's. Label values are
 * route patterns, API names and stable reason codes, never a raw path, id or token (ids are secrets).
 * The default is {@link NO_METRICS} (Workers, tests, metrics off); Node loads a Prometheus adapter
 * only when metrics are enabled (`src/adapters/metrics/prometheus.ts`).
 *
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/
 */

/**
 * What happened to a channel (`qrelay_channels_<event>_total`). Expiry is no event: a store forgets an
 * expired channel by itself (a Redis TTL), so expiries are derived (docs/metrics.md).
 */
export type ChannelEventKind = 'created' | 'completed' | 'aborted' | 'deleted'

/** Webhook delivery outcomes (`qrelay_webhook_deliveries_total`, `_retries_total`, `_dead_letters_total`). */
export type WebhookEventKind = 'delivered' | 'retried' | 'dead_lettered'

/** Values read at every scrape rather than counted. */
export type GaugeName = 'live_channels' | 'open_websockets' | 'webhook_queue_pending' | 'webhook_queue_dead'

/** Times one store operation: `start` reads the clock, `end` records the duration since (and a failure). */
export interface StoreOperationRecorder {
  start(): number
  end(started: number, failed: boolean): void
}

/** Records what the process does, for an operator's dashboard. Every method is cheap and never throws. */
export interface Metrics {
  /** False for the no-op: callers skip the work of measuring (timers, wrappers). */
  readonly enabled: boolean
  /** Starts a monotonic timer; the returned function tells the seconds since. */
  timer(): () => number
  /** One HTTP request: its method, route pattern (never the raw path), status and duration. */
  request(method: string, route: string, status: number, seconds: number): void
  /** A channel of `api` (`msc4108`, `msc4388`, `native`) was created, completed, aborted or deleted. */
  channel(api: string, event: ChannelEventKind): void
  /** A sign-in by `method` (`password`, `qr`) ended with `outcome` (`success` or a lower-case error code). */
  login(method: string, outcome: string): void
  /** An approval decision: `approved`, `declined` or `refused`, with a reason code (`none` when there is none). */
  approval(outcome: string, reason: string): void
  /** A request refused by policy (denied network, abuse block, risk policy), by reason. */
  policyDenial(reason: string): void
  /** A network blocked by the abuse guard, by reason. */
  abuseBlock(reason: string): void
  /** A token endpoint answer, by grant type and RFC 6749 error (`none` when tokens were issued). */
  tokenRequest(grantType: string, error: string): void
  /** A webhook delivered, rescheduled or dead-lettered. */
  webhook(event: WebhookEventKind): void
  /**
   * The recorder of one store operation through a port (`channels`, `counters`, `kv`, `accounts`…),
   * made once per operation by the store wrapper (no allocation per call).
   */
  storeOperation(port: string, operation: string): StoreOperationRecorder
  /** Registers how to read `gauge` at scrape time (several readers of one gauge add up). */
  observe(gauge: GaugeName, read: () => number | Promise<number>): void
  /** The exposition (Prometheus text format 0.0.4) and its content type. */
  render(): Promise<{ contentType: string; body: string }>
}

const zero = (): number => 0
const nothing = (): void => {}
const NO_RECORDER: StoreOperationRecorder = Object.freeze({ start: zero, end: nothing })

/** The metrics of a process that keeps none: every method does nothing. */
export const NO_METRICS: Metrics = Object.freeze({
  enabled: false,
  timer: () => zero,
  request: nothing,
  channel: nothing,
  login: nothing,
  approval: nothing,
  policyDenial: nothing,
  abuseBlock: nothing,
  tokenRequest: nothing,
  webhook: nothing,
  storeOperation: () => NO_RECORDER,
  observe: nothing,
  render: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '' }),
})
