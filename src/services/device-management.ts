/**
 * The user's own changes to the account's devices: signing a device out (itself, or another one after
 * the caller's step-up) and renaming one. Each is reported to the account's feed and the other sinks
 * (`device_signed_out`, `device_renamed`), so that the owner's remaining devices and the operator see
 * who changed what, also when a stolen password did it (finding 41). Renaming another device follows
 * the device-action rule (quarantine, then a step-up when the acting device's authentication is
 * stale); renaming itself is always allowed. Renames are limited per acting device
 * (`QRELAY_RATE_RENAMES_PER_DEVICE`, 10 a day): the feed keeps the newest 100 events for 7 days, and a
 * phished session, which may rename itself even in quarantine, must not push the owner's older news out
 * with renames, even paced over days. The operator's sign-outs (`device_revoked`), "not me"
 * (`device_not_me`) and a password change's (`password_changed`) are reported by their own services; a
 * token revocation that ends a device's session (`services/token-inspection.ts`) is reported as a
 * sign-out of the device by itself (./device-sign-out.ts, finding 45).
 *
 * @see ./device-actions.ts
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (detect and remediate)
 */
import { RelayError } from '../core/errors.ts'
import type { RateRule } from '../core/policy/rate-limit.ts'
import type { Clock, DurableStore, SecurityEvents } from '../ports.ts'
import type { RateLimiter } from './rate-limiter.ts'
import { signOutDevice } from './device-sign-out.ts'
import type { Actor, DeviceActionGuard } from './device-actions.ts'

/** One rename. */
export interface RenameRequest {
  actor: Actor
  /** The device to rename (the actor's own, or another device of the account). */
  deviceId: string
  displayName: string
  /** Runs the UIA step-up when the actor's authentication is stale; throws the challenge meanwhile. */
  stepUp(): Promise<void>
}

/** The service. */
export interface DeviceManagement {
  /**
   * Signs `deviceId` out at the request of `actor` (itself, or another device whose step-up the
   * caller has run) and reports `device_signed_out`. False when it was not signed in (nothing reported).
   */
  signOut(actor: Actor, deviceId: string): Promise<boolean>
  /**
   * Renames a device and reports `device_renamed` (nothing when the name is unchanged). Another device
   * needs the actor out of quarantine and recently authenticated (else `stepUp` first). Errors:
   * FORBIDDEN with reason `quarantined`, NOT_FOUND, the UIA challenge while stepping up,
   * RATE_LIMITED (the acting device's renames, counted after the step-up, before the write).
   */
  rename(request: RenameRequest): Promise<void>
}

const notFound = (): RelayError => new RelayError('NOT_FOUND', { detail: 'no such device' })

/**
 * Builds the service.
 *
 * @example
 * const devices = deviceManagement({ durable, events, clock, guard, limiter, renamesPerDevice: config.auth.renamesPerDevice })
 * await devices.signOut({ accountId, deviceId: acting }, target)
 */
export const deviceManagement = (deps: {
  durable: Pick<DurableStore, 'devices'>
  events: SecurityEvents
  clock: Clock
  guard: DeviceActionGuard
  /** With `renamesPerDevice`: each rename counted per acting device. Absent: renames are not limited. */
  limiter?: RateLimiter
  renamesPerDevice?: RateRule
}): DeviceManagement => ({
  signOut: (actor, deviceId) => signOutDevice(deps, actor.accountId, deviceId, { byDevice: actor.deviceId }),
  async rename({ actor, deviceId, displayName, stepUp }) {
    const self = deviceId === actor.deviceId
    // Before anything about the target is revealed: a quarantined session acts on no other device.
    const stale = self ? false : (await deps.guard.check(actor, 'rename_other_device')).stale
    const device = await deps.durable.devices.get(actor.accountId, deviceId)
    if (device === null) throw notFound()
    if (stale) {
      await stepUp()
      await deps.guard.markAuthenticated(actor)
    }
    // Counted once the rename will be written (a step-up's challenge and its answer count once).
    if (deps.limiter !== undefined && deps.renamesPerDevice !== undefined) {
      await deps.limiter.consume(`rename:${actor.accountId}:${actor.deviceId}`, deps.renamesPerDevice)
    }
    // The old name is read just before: a concurrent rename may report the name it replaced instead.
    if (!(await deps.durable.devices.rename(actor.accountId, deviceId, displayName))) throw notFound()
    if (device.displayName === displayName) return
    await deps.events.emit(actor.accountId, {
      type: 'device_renamed',
      atMs: deps.clock.now(),
      deviceId,
      details: { by_device: actor.deviceId, self, old_name: device.displayName, new_name: displayName },
    })
  },
})
