/**
 * Bearer authentication for account and device endpoints: `Authorization: Bearer <access token>`,
 * checked against the token store (hash compared in constant time). Sets `principal` for the routes.
 * Errors: MISSING_TOKEN (401 M_MISSING_TOKEN), INVALID_TOKEN (401 M_UNKNOWN_TOKEN).
 *
 * @see https://spec.matrix.org/v1.16/client-server-api/#using-access-tokens
 */
import type { MiddlewareHandler } from 'hono'
import { RelayError } from '../../core/errors.ts'
import type { Principal, SessionsService } from '../../services/sessions.ts'
import type { AppEnv } from '../context.ts'

/** The app environment of routes behind {@link bearerAuth}. */
export type AuthedEnv = AppEnv & { Variables: { principal: Principal } }

const BEARER = /^Bearer +(\S+) *$/i

/** The token of an `Authorization: Bearer` header, undefined when there is no header. Errors: INVALID_TOKEN. */
export const bearerOf = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined
  const match = BEARER.exec(header)
  if (match === null) throw new RelayError('INVALID_TOKEN', { detail: 'Authorization must be "Bearer <token>"' })
  return match[1]
}

/**
 * Builds the middleware.
 *
 * @example
 * app.use('/v1/devices/*', bearerAuth(sessions))
 */
export const bearerAuth = (sessions: SessionsService): MiddlewareHandler<AuthedEnv> =>
  async function bearerAuth(c, next) {
    const principal = await sessions.authenticate(bearerOf(c.req.header('authorization')), c.get('clientKey'))
    c.set('principal', principal)
    await next()
  }
