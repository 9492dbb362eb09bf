/**
 * Quarantine ("limited scopes") at the door: a session minted by QR login may not take over the
 * account while its quarantine lasts (no password change, no 2FA changes, no approving further
 * logins; actions on other devices are checked by `services/device-actions.ts`). Mount after
 * `bearerAuth`. Errors: FORBIDDEN with reason `quarantined`.
 *
 * @see ../../core/oauth/scopes.ts
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (limited scopes)
 */
import type { MiddlewareHandler } from 'hono'
import type { DeviceAction } from '../../core/oauth/scopes.ts'
import type { DeviceActionGuard } from '../../services/device-actions.ts'
import type { AuthedEnv } from './bearer-auth.ts'

/**
 * Builds the guard of one action.
 *
 * @example
 * authed.use('/v1/account/password', requireDeviceAction('change_password', deviceGuard))
 */
export const requireDeviceAction = (action: DeviceAction, guard: Pick<DeviceActionGuard, 'ensureAllowed'>): MiddlewareHandler<AuthedEnv> =>
  async function requireDeviceAction(c, next) {
    const { accountId, deviceId } = c.get('principal')
    await guard.ensureAllowed({ accountId, deviceId }, action)
    await next()
  }
