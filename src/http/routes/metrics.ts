/**
 * `GET /metrics`: the process's metrics in the Prometheus text format, behind a bearer token when
 * `QRELAY_METRICS_TOKEN` is set. Mounted only when metrics are kept (Node with
 * `QRELAY_METRICS_ENABLED`); Workers have no such endpoint (docs/metrics.md).
 *
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */
import type { Handler } from 'hono'
import { equalConstantTime } from '../../core/crypto/secrets.ts'
import { RelayError } from '../../core/errors.ts'
import type { Metrics } from '../../ports/metrics.ts'
import type { AppEnv } from '../context.ts'
import { bearerOf } from '../middleware/bearer-auth.ts'

/**
 * Builds the scrape handler. Errors: MISSING_TOKEN, INVALID_TOKEN (401, with `WWW-Authenticate`).
 *
 * @example
 * app.get('/metrics', metricsRoute({ metrics, token: config.server.metricsToken }))
 */
export const metricsRoute = (deps: { metrics: Metrics; token: string | undefined }): Handler<AppEnv> => {
  const { metrics, token } = deps
  return async function metricsRoute(c) {
    if (token !== undefined) {
      const presented = bearerOf(c.req.header('authorization'))
      if (presented === undefined || !equalConstantTime(presented, token)) {
        c.header('WWW-Authenticate', 'Bearer realm="metrics"')
        throw presented === undefined
          ? new RelayError('MISSING_TOKEN', { detail: 'the metrics token is required' })
          : new RelayError('INVALID_TOKEN', { detail: 'wrong metrics token' })
      }
    }
    const { contentType, body } = await metrics.render()
    return c.body(body, 200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' })
  }
}
