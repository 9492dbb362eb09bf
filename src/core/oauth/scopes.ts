/**
 * Limited scopes for sessions minted by QR (BCP "limited scopes"): such a device starts in quarantine
 * until a configured time and meanwhile cannot take over the account: no password change, no 2FA
 * changes, and no action on any OTHER device (approving further logins, signing another device out,
 * reporting another device "not me", renaming another device), nor see where the owner's other
 * devices were last seen (their networks follow the owner around: finding 51). It may still use its
 * session, list the devices and sign itself out, so the user is not blocked.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (limited scopes)
 */
import type { DeviceRecord } from '../accounts/records.ts'

/** Every action the quarantine rule knows about. */
export const DEVICE_ACTIONS = [
  'use_session',
  'manage_own_device',
  'revoke_devices',
  'change_password',
  'manage_2fa',
  'approve_login',
  'report_not_me',
  'rename_other_device',
  'see_other_networks',
] as const

/** One guarded action. */
export type DeviceAction = (typeof DEVICE_ACTIONS)[number]

/**
 * Actions on another device of the account (`revoke_devices` signs another device out). A session the
 * owner did not create (a phished QR login) must not be able to turn them against the owner's devices.
 */
export const OTHER_DEVICE_ACTIONS: readonly DeviceAction[] = ['revoke_devices', 'approve_login', 'report_not_me', 'rename_other_device']

/**
 * Other-device actions that also need a recent authentication on the acting device (a step-up when
 * stale): they sign devices out, admit new ones, or rename another device (a renamed phone gets
 * signed out by its owner: finding 41).
 */
export const RECENT_AUTH_ACTIONS: readonly DeviceAction[] = ['revoke_devices', 'approve_login', 'report_not_me', 'rename_other_device']

/** What a quarantined device may not do. */
export const QUARANTINED_ACTIONS: readonly DeviceAction[] = ['change_password', 'manage_2fa', 'see_other_networks', ...OTHER_DEVICE_ACTIONS]

/** Default quarantine of a QR-minted session: 24 h. */
export const DEFAULT_QUARANTINE_MS = 24 * 60 * 60 * 1000

/**
 * When a QR-minted session leaves quarantine: `now + quarantineMs` (0 ms: never quarantined).
 *
 * @example
 * const device = { ...fields, origin: 'qr', quarantineUntilMs: quarantineUntil(now, DEFAULT_QUARANTINE_MS) }
 */
export const quarantineUntil = (now: number, quarantineMs: number = DEFAULT_QUARANTINE_MS): number =>
  quarantineMs > 0 ? now + quarantineMs : 0

/** True while the device is in quarantine. */
export const isQuarantined = (device: Pick<DeviceRecord, 'quarantineUntilMs'>, now: number): boolean => now < device.quarantineUntilMs

/**
 * The actions the device may take at `now`.
 *
 * @example
 * allowedActions(device, now) // without 'change_password' while quarantined
 */
export const allowedActions = (device: Pick<DeviceRecord, 'quarantineUntilMs'>, now: number): DeviceAction[] =>
  isQuarantined(device, now) ? DEVICE_ACTIONS.filter((a) => !QUARANTINED_ACTIONS.includes(a)) : [...DEVICE_ACTIONS]

/**
 * True when the device may take `action` at `now`; callers refuse with FORBIDDEN otherwise.
 *
 * @example
 * if (!isActionAllowed(device, 'approve_login', now)) {
 *   throw new RelayError('FORBIDDEN', { detail: 'this device is still in quarantine' })
 * }
 */
export const isActionAllowed = (device: Pick<DeviceRecord, 'quarantineUntilMs'>, action: DeviceAction, now: number): boolean =>
  !isQuarantined(device, now) || !QUARANTINED_ACTIONS.includes(action)
