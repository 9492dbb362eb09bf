/**
 * The rule for actions on another device of the account (sign it out, report it "not me", approve a
 * new one, rename it): refused to a device in QR quarantine (403, reason `quarantined`), and allowed
 * only after a recent authentication on the acting device, otherwise a UIA step-up first. A phished QR session has neither: it cannot turn
 * the account's own remediation against the owner's devices.
 *
 * @see ../core/oauth/scopes.ts
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (limited scopes, trusted devices)
 */
import type { DeviceRecord } from '../core/accounts/records.ts'
import { RelayError } from '../core/errors.ts'
import { isActionAllowed, RECENT_AUTH_ACTIONS, type DeviceAction } from '../core/oauth/scopes.ts'
import type { Clock, DeviceStore } from '../ports.ts'
import type { AuthRecency } from './auth-recency.ts'

/** Who acts. */
export interface Actor {
  accountId: string
  deviceId: string
}

/** The guard. */
export interface DeviceActionGuard {
  /**
   * Checks that `actor` may take `action` on another device now; returns its device and whether its
   * authentication is too old (the caller then runs a step-up and calls {@link markAuthenticated}).
   * Errors: INVALID_TOKEN (the device is gone), FORBIDDEN with reason `quarantined`.
   */
  check(actor: Actor, action: DeviceAction): Promise<{ device: DeviceRecord; stale: boolean }>
  /**
   * {@link check}, then `stepUp()` when stale, then marks the fresh authentication. `stepUp` throws
   * the UIA challenge while stages remain.
   */
  authorize(actor: Actor, action: DeviceAction, stepUp: () => Promise<void>): Promise<void>
  /** Records a completed step-up on the actor's device. */
  markAuthenticated(actor: Actor): Promise<void>
  /**
   * Quarantine only, for actions on the actor's own account (password, 2FA, approving a login):
   * refused while its QR quarantine lasts. Errors: INVALID_TOKEN (the device is gone), FORBIDDEN
   * with reason `quarantined`.
   */
  ensureAllowed(actor: Actor, action: DeviceAction): Promise<void>
  /** Whether `device` (the actor's own, already read) may take `action` now: the quarantine rule alone. */
  allows(device: Pick<DeviceRecord, 'quarantineUntilMs'>, action: DeviceAction): boolean
}

/** The 403 a quarantined device gets. */
export const quarantinedError = (device: Pick<DeviceRecord, 'quarantineUntilMs'>): RelayError =>
  new RelayError('FORBIDDEN', {
    detail: `this device signed in by QR recently and cannot do this until ${new Date(device.quarantineUntilMs).toISOString()}`,
    reason: 'quarantined',
  })

/**
 * Builds the guard. `maxAuthAgeMs` is `QRELAY_POLICY_DEVICE_ACTION_MAX_AUTH_AGE_SECONDS`.
 *
 * @example
 * await guard.authorize({ accountId, deviceId }, 'report_not_me', () => uia.authorize(request, subject))
 */
export const deviceActionGuard = (deps: {
  devices: DeviceStore
  clock: Clock
  recency: AuthRecency
  maxAuthAgeMs: number
}): DeviceActionGuard => {
  const guard: DeviceActionGuard = {
    async check(actor, action) {
      const device = await deps.devices.get(actor.accountId, actor.deviceId)
      if (device === null) throw new RelayError('INVALID_TOKEN', { detail: 'unknown or expired access token' })
      const now = deps.clock.now()
      if (!isActionAllowed(device, action, now)) throw quarantinedError(device)
      if (!RECENT_AUTH_ACTIONS.includes(action)) return { device, stale: false }
      const last = await deps.recency.lastAuthenticatedAt(device, 'credential')
      return { device, stale: now - last > deps.maxAuthAgeMs }
    },
    async authorize(actor, action, stepUp) {
      const { stale } = await guard.check(actor, action)
      if (!stale) return
      await stepUp()
      await guard.markAuthenticated(actor)
    },
    async markAuthenticated(actor) {
      await deps.recency.mark(actor.accountId, actor.deviceId)
    },
    async ensureAllowed(actor, action) {
      const device = await deps.devices.get(actor.accountId, actor.deviceId)
      if (device === null) throw new RelayError('INVALID_TOKEN', { detail: 'unknown or expired access token' })
      if (!isActionAllowed(device, action, deps.clock.now())) throw quarantinedError(device)
    },
    allows: (device, action) => isActionAllowed(device, action, deps.clock.now()),
  }
  return guard
}
