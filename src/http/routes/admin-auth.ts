/**
 * The admin token check shared by the operator routes (`/v1/admin/…`): `Authorization: Bearer
 * <QRELAY_ADMIN_TOKEN>`, compared in constant time. 401 `MISSING_TOKEN` without one, 401
 * `INVALID_TOKEN` with a wrong one.
 */
import type { Context } from 'hono'
import { equalConstantTime } from '../../core/crypto/secrets.ts'
import { RelayError } from '../../core/errors.ts'
import type { AppEnv } from '../context.ts'
import { bearerOf } from '../middleware/bearer-auth.ts'

/**
 * A check that throws unless the request carries `adminToken` (undefined: no token opens the routes).
 *
 * @example
 * const requireAdmin = adminCheck(config.auth.adminToken)
 * app.get('/v1/admin/keys', (c) => { requireAdmin(c); … })
 */
export const adminCheck =
  (adminToken: string | undefined) =>
  (c: Context<AppEnv>): void => {
    const presented = bearerOf(c.req.header('authorization'))
    if (presented === undefined) throw new RelayError('MISSING_TOKEN', { detail: 'the admin token is required' })
    if (adminToken === undefined || !equalConstantTime(presented, adminToken)) {
      throw new RelayError('INVALID_TOKEN', { detail: 'wrong admin token' })
    }
  }
