/**
 * Liveness and readiness. `/healthz` answers while the process serves; `/readyz` only when the store
 * answers a ping within a second, so a load balancer stops sending traffic to a process cut off from Redis.
 */
import type { Handler } from 'hono'
import type { AppEnv } from '../context.ts'

const READY_TIMEOUT_MS = 1000

/** What readiness asks: the ephemeral store's kind and ping, and nothing else of it. */
export interface Readiness {
  kind: string
  ping(): Promise<unknown>
}

/** Handlers of the health endpoints. */
export const healthRoutes = (store: Readiness, isShuttingDown: () => boolean) => {
  const healthz: Handler<AppEnv> = (c) => c.json({ status: 'ok' }, 200, { 'Cache-Control': 'no-store' })

  const readyz: Handler<AppEnv> = async (c) => {
    if (isShuttingDown()) return c.json({ status: 'shutting_down' }, 503, { 'Cache-Control': 'no-store' })
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('store ping timed out')), READY_TIMEOUT_MS)
    })
    try {
      await Promise.race([store.ping(), timeout])
      return c.json({ status: 'ready', store: store.kind }, 200, { 'Cache-Control': 'no-store' })
    } catch {
      // Any failure of the ping (or its timeout) is exactly what "not ready" reports.
      return c.json({ status: 'unavailable', store: store.kind }, 503, { 'Cache-Control': 'no-store' })
    } finally {
      if (timer !== undefined) clearTimeout(timer)
    }
  }

  return { healthz, readyz }
}
