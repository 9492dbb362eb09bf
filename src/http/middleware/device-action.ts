/**
 * Quarantine ("limited scopes") at the door: a session minted by QR login may not take over the
 * account while its quarantine lasts (no password change, no 2FA changes, no approving further
 * logins; actions on other devices are checked by `services/device-actions.ts`). Mount after `bearerAuth`. Errors: FORBIDDEN with reason `quarantined`.
 *
 * @see ../../core/oauth/scopes.ts
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (limited scopes)
 */
import type { MiddlewareHandler } from 'hono'
import { RelayError } from '../../core/errors.ts'
import { isActionAllowed, type DeviceAction } from '../../core/oauth/scopes.ts'
import type { Clock, DeviceStore } from '../../ports.ts'
import { quarantinedError } from '../../services/device-actions.ts'
import type { AuthedEnv } from './bearer-auth.ts'

/**
 * Builds the guard of one action.
 *
 * @example
 * authed.use('/v1/account/password', requireDeviceAction('change_password', { devices, clock }))
 */
export const requireDeviceAction = (
  action: DeviceAction,
  deps: { devices: DeviceStore; clock: Clock },
): MiddlewareHandler<AuthedEnv> =>
  async function requireDeviceAction(c, next) {
    const { accountId, deviceId } = c.get('principal')
    const device = await deps.devices.get(accountId, deviceId)
    if (device === null) throw new RelayError('INVALID_TOKEN', { detail: 'unknown or expired access token' })
    if (!isActionAllowed(device, action, deps.clock.now())) throw quarantinedError(device)
    await next()
  }
