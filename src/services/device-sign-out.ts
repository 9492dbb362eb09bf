/**
 * One device signed out on its owner's behalf, reported as `device_signed_out`: the device, every
 * access token and every refresh family of it go with the event in one store step
 * (`DeviceStore.revokeMany`), and the sinks are told after. The user's own sign-outs
 * (`services/device-management.ts`, finding 41), a token revocation that ends a device's session
 * (`services/token-inspection.ts`, MSC4254, finding 45) and a refresh token's reuse
 * (`services/session-refresh.ts`, finding 46) all go this way.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4254
 */
import type { Clock, DurableStore, SecurityEvents } from '../ports.ts'
import { signOutReport } from './step-report.ts'

/** What a sign-out needs: the device store, the security events and the clock. */
export interface DeviceSignOutDeps {
  durable: Pick<DurableStore, 'devices'>
  events: SecurityEvents
  clock: Clock
}

/** Who signed the device out: the acting device, and how when it was not a user's sign-out request. */
export interface SignOutBy {
  byDevice: string
  /**
   * Set when the sign-out came another way: `token_revocation` (RFC 7009 on one of the device's tokens),
   * `refresh_token_reuse` (a rotated-out refresh token of the device presented again: a theft signal).
   */
  via?: 'token_revocation' | 'refresh_token_reuse'
}

/**
 * Signs `deviceId` of the account out and reports `device_signed_out` with details `by_device`,
 * `self`, `device_name` (and `via` when given). False when it was not signed in: nothing is reported,
 * also when another sign-out won a race for it.
 *
 * @example
 * await signOutDevice({ durable, events, clock }, accountId, deviceId, { byDevice: deviceId, via: 'token_revocation' })
 */
export const signOutDevice = async (deps: DeviceSignOutDeps, accountId: string, deviceId: string, by: SignOutBy): Promise<boolean> => {
  const device = await deps.durable.devices.get(accountId, deviceId)
  if (device === null) return false
  // The sign-out and its event in one store step: a process killed in between loses neither.
  const { append, tell } = signOutReport(deps.events, {
    type: 'device_signed_out',
    atMs: deps.clock.now(),
    deviceId,
    details: {
      by_device: by.byDevice,
      self: deviceId === by.byDevice,
      device_name: device.displayName,
      ...(by.via === undefined ? {} : { via: by.via }),
    },
  })
  const { revoked } = await deps.durable.devices.revokeMany(accountId, [deviceId], append)
  if (revoked.length === 0) return false
  await tell(accountId, revoked.length)
  return true
}
