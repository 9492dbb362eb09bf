/**
 * The {@link Metrics} port on prom-client (Node only; `src/runtime/node-metrics.ts` imports this file
 * only when metrics are enabled). Every metric lives in a registry of its own (never prom-client's
 * global one), and each label combination's child is made once and kept: the hot path is a map
 * lookup and an increment. A label value outside the expected shape becomes `other`, and each metric
 * keeps at most {@link MAX_CHILDREN} combinations, so no request can grow the exposition.
 *
 * @see https://prometheus.io/docs/practices/naming/
 */
import { performance } from 'node:perf_hooks'
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import { fastHistogram } from './fast-histogram.ts'
import type { ChannelEventKind, GaugeName, Metrics, WebhookEventKind } from '../../ports/metrics.ts'

/** Distinct label combinations one metric keeps; later ones are counted under `other`. */
export const MAX_CHILDREN = 512

/** Route patterns, API names, reason codes: letters, digits and `_ . : / { } * -`, at most 96 characters. */
const LABEL_VALUE = /^[A-Za-z0-9_.:/{}*-]{1,96}$/

/** The label value to record: `value` when it has the expected shape, else `other`. */
const clean = (value: string): string => (LABEL_VALUE.test(value) ? value : 'other')

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** Request durations: sub-millisecond relay calls up to multi-second password hashing. */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** Store operations: a map lookup (memory) to a slow Redis or SQLite round trip. */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]

/** A metric's children by label values, made on first use and kept (bounded by {@link MAX_CHILDREN}). */
const children = <C>(make: (values: string[]) => C): ((...values: string[]) => C) => {
  const made = new Map<string, C>()
  let overflow: C | undefined
  return (...values) => {
    const key = values.join('\u0000')
    const child = made.get(key)
    if (child !== undefined) return child
    if (made.size >= MAX_CHILDREN) return (overflow ??= make(values.map(() => 'other')))
    const fresh = make(values.map(clean))
    made.set(key, fresh)
    return fresh
  }
}

/** Options of {@link prometheusMetrics}. */
export interface PrometheusOptions {
  /** Also export prom-client's process metrics (CPU, memory, event loop lag, GC); default true. */
  processMetrics?: boolean
}

/** Counters of one name per channel event, labelled by API. */
const channelCounters = (registry: Registry): Record<ChannelEventKind, (api: string) => { inc(): void }> => {
  const make = (event: ChannelEventKind, help: string) => {
    const counter = new Counter({ name: `qrelay_channels_${event}_total`, help, labelNames: ['api'], registers: [registry] })
    return children((values) => counter.labels(...values))
  }
  return {
    created: make('created', 'Rendezvous channels created, by API'),
    completed: make('completed', 'Rendezvous channels completed (joined, or answered on the Matrix APIs), by API'),
    aborted: make('aborted', 'Rendezvous channels aborted by a party, by API'),
    deleted: make('deleted', 'Rendezvous channels deleted by a party, by API'),
  }
}

/** The scrape-time gauges: each sums what its readers tell at the time of the scrape. */
const scrapeGauges = (registry: Registry): Record<GaugeName, Array<() => number | Promise<number>>> => {
  const readers: Record<GaugeName, Array<() => number | Promise<number>>> = {
    live_channels: [],
    open_websockets: [],
    webhook_queue_pending: [],
    webhook_queue_dead: [],
  }
  const sum = async (of: GaugeName): Promise<number> => {
    let total = 0
    try {
      for (const read of readers[of]) total += await read()
      return total
    } catch {
      // A store that cannot be reached now: the gauge says "unknown" (NaN), the scrape still answers.
      return Number.NaN
    }
  }
  new Gauge({
    name: 'qrelay_channels_live',
    help: 'Live (unexpired) rendezvous channels in the store, read at scrape time',
    registers: [registry],
    async collect() {
      this.set(await sum('live_channels'))
    },
  })
  new Gauge({
    name: 'qrelay_websockets_open',
    help: 'WebSockets open on this process, read at scrape time',
    registers: [registry],
    async collect() {
      this.set(await sum('open_websockets'))
    },
  })
  new Gauge({
    name: 'qrelay_webhook_queue_depth',
    help: 'Webhook messages in the durable outbox: pending (waiting or being delivered) and dead, read at scrape time',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.labels('pending').set(await sum('webhook_queue_pending'))
      this.labels('dead').set(await sum('webhook_queue_dead'))
    },
  })
  return readers
}

/**
 * Builds the Prometheus metrics of one process.
 *
 * @example
 * const metrics = prometheusMetrics()
 * metrics.channel('native', 'created')
 * const { contentType, body } = await metrics.render()
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: one metric definition per port method, read top to bottom
export const prometheusMetrics = (options: PrometheusOptions = {}): Metrics => {
  const registry = new Registry()
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'qrelay_' })
  const counter = (name: string, help: string, labelNames: string[]) => {
    const metric = new Counter({ name, help, labelNames, registers: [registry] })
    return children((values) => metric.labels(...values))
  }
  const request = children(
    fastHistogram(registry, {
      name: 'qrelay_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern (never the raw path) and status, with their duration',
      labelNames: ['method', 'route', 'status'],
      buckets: REQUEST_BUCKETS,
    }),
  )
  const storeOperation = children(
    fastHistogram(registry, {
      name: 'qrelay_store_operation_duration_seconds',
      help: 'Store operations by port and operation, with their duration',
      labelNames: ['port', 'operation'],
      buckets: STORE_BUCKETS,
    }),
  )
  const storeFailure = counter('qrelay_store_operation_errors_total', 'Store operations that threw, by port and operation', [
    'port',
    'operation',
  ])
  const channels = channelCounters(registry)
  const logins = counter('qrelay_logins_total', 'Sign-ins by method (password, qr) and outcome (success or the error code)', [
    'method',
    'outcome',
  ])
  const approvals = counter('qrelay_approvals_total', 'Approval decisions by outcome (approved, declined, refused) and reason', [
    'outcome',
    'reason',
  ])
  const denials = counter('qrelay_policy_denials_total', 'Requests refused by policy (network lists, abuse blocks, risk), by reason', [
    'reason',
  ])
  const blocks = counter('qrelay_abuse_blocks_total', 'Networks blocked by the abuse guard, by reason', ['reason'])
  const tokens = counter('qrelay_token_requests_total', 'Token endpoint answers by grant type and error (none: tokens issued)', [
    'grant_type',
    'error',
  ])
  const webhookCounter = (name: string, help: string) => new Counter({ name, help, registers: [registry] })
  const webhooks: Record<WebhookEventKind, Counter> = {
    delivered: webhookCounter('qrelay_webhook_deliveries_total', 'Webhooks delivered (a 2xx answer)'),
    retried: webhookCounter('qrelay_webhook_retries_total', 'Webhook deliveries that failed and were rescheduled'),
    dead_lettered: webhookCounter('qrelay_webhook_dead_letters_total', 'Webhooks given up after the last attempt'),
  }
  const readers = scrapeGauges(registry)
  return {
    enabled: true,
    timer: () => {
      const started = performance.now()
      return () => (performance.now() - started) / 1000
    },
    request: (method, route, status, seconds) => {
      request(METHODS.has(method) ? method : 'other', route, String(status)).observe(seconds)
    },
    channel: (api, event) => channels[event](api).inc(),
    login: (method, outcome) => logins(method, outcome).inc(),
    approval: (outcome, reason) => approvals(outcome, reason).inc(),
    policyDenial: (reason) => denials(reason).inc(),
    abuseBlock: (reason) => blocks(reason).inc(),
    tokenRequest: (grantType, error) => tokens(grantType, error).inc(),
    webhook: (event) => webhooks[event].inc(),
    storeOperation: (port, operation) => {
      const duration = storeOperation(port, operation)
      const failures = storeFailure(port, operation)
      return {
        start: () => performance.now(),
        end: (started, failed) => {
          duration.observe((performance.now() - started) / 1000)
          if (failed) failures.inc()
        },
      }
    },
    observe: (gauge, read) => {
      readers[gauge].push(read)
    },
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  }
}
