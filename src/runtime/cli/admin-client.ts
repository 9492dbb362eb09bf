/**
 * The CLI's way into a running server's admin API, for what only that server holds: with the memory
 * store, the abuse guard's blocks live in its memory. The server is `--server <origin>`, else the one
 * the configuration describes (`QRELAY_HOST`, a wildcard address meaning loopback, and `QRELAY_PORT`);
 * the token is `QRELAY_ADMIN_TOKEN`.
 */
import type { Config } from '../../config.ts'
import { CliExit } from './exit.ts'

const TIMEOUT_MS = 10_000

/** The origin of the server the configuration describes. */
export const serverOrigin = (config: Config): string => {
  const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host === '::' ? '::1' : config.server.host
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.server.port}`
}

/**
 * Calls `path` on the server with the admin token; the JSON answer, or exit 1 (refused, unreachable)
 * or 2 (no token configured).
 *
 * @example
 * const { blocks } = await adminCall(config, undefined, 'GET', '/v1/admin/abuse/blocks')
 */
export const adminCall = async (
  config: Config,
  server: string | undefined,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> => {
  const token = config.auth.adminToken
  if (token === undefined) throw new CliExit(2, 'set QRELAY_ADMIN_TOKEN: the running server holds this, and its admin API needs the token')
  const origin = server ?? serverOrigin(config)
  let response: Response
  try {
    response = await fetch(`${origin}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
  } catch (error) {
    const why = error instanceof Error ? (((error.cause as { code?: string } | undefined)?.code ?? error.name) as string) : 'error'
    throw new CliExit(1, `no qrelay server answers at ${origin} (${why}); start it, or name it with --server`)
  }
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>
  if (!response.ok) throw new CliExit(1, `the server at ${origin} refused: ${response.status} ${String(json.error ?? json.errcode ?? '')}`)
  return json
}
