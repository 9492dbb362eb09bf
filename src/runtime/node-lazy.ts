/**
 * Adapters Node imports only when the configuration asks for them, so a plain start loads neither:
 * the mmdb geolocation (maxmind) and the Prometheus metrics (prom-client).
 */
import type { Config } from '../config.ts'
import type { NetworkLocator, WebhookOutbox } from '../ports.ts'
import { NO_METRICS, type Metrics } from '../ports/metrics.ts'
import { countedWebhookOutbox } from '../services/metrics-stores.ts'

/** The mmdb locator when a QRELAY_GEO_* file is configured; maxmind is imported only then. */
export const geoLocator = async (config: Config): Promise<NetworkLocator | undefined> => {
  const { cityMmdbPath: cityPath, asnMmdbPath: asnPath } = config.geo
  if (cityPath === undefined && asnPath === undefined) return undefined
  const { mmdbLocator } = await import('../adapters/geo/mmdb.ts')
  return mmdbLocator({ cityPath, asnPath })
}

/**
 * The metrics of this process: Prometheus (prom-client imported only then) with
 * `QRELAY_METRICS_ENABLED`, else none; and the webhook outbox, counted when metrics are kept.
 *
 * @example
 * const { metrics, outbox } = await nodeMetrics(config, built.outbox)
 */
export const nodeMetrics = async (config: Config, outbox: WebhookOutbox): Promise<{ metrics: Metrics; outbox: WebhookOutbox }> => {
  if (!config.server.metricsEnabled) return { metrics: NO_METRICS, outbox }
  const { prometheusMetrics } = await import('../adapters/metrics/prometheus.ts')
  const metrics = prometheusMetrics()
  return { metrics, outbox: countedWebhookOutbox(outbox, metrics) }
}
