/**
 * The waiver of a "not me" deny of everybody, for approvals: a network is the account's own when one
 * of its established trusted devices (out of quarantine, still signed in, older than the reporters'
 * minimum age) was seen there within 30 days, last or earlier (its recent networks, finding 49).
 * Reports by other accounts cannot lock such an owner out of approving logins from home or the office
 * (the rule that keeps the account's own reports from denying that network). The age matters: the
 * approving request itself marks its device as seen on its network, so a fresh account signed in on
 * the spot would otherwise vouch for itself. Channel creators get no waiver (`AbuseGuard.deniedForMs`).
 *
 * @see ../core/policy/not-me.ts
 * @see ./abuse-guard.ts
 */
import { trustedDeviceSeenOn } from '../core/policy/not-me.ts'
import type { Clock, DeviceStore } from '../ports.ts'

/**
 * The abuse guard's `vouches`: one device list read, made only when a global "not me" deny is all
 * that stands between the approving account and the network. `minAgeMs` is
 * `QRELAY_NOT_ME_GLOBAL_MIN_ACCOUNT_AGE_SECONDS` in ms.
 *
 * @example
 * const vouches = trustedNetworkVouch(durable.devices, clock, 7 * 86_400_000)
 * await vouches(accountId, '203.0.113.7') // true when an established trusted device of the account was seen there lately
 */
export const trustedNetworkVouch =
  (devices: Pick<DeviceStore, 'listByAccount'>, clock: Clock, minAgeMs: number) =>
  async (accountId: string, network: string): Promise<boolean> => {
    const now = clock.now()
    const established = (await devices.listByAccount(accountId)).filter((d) => now - d.createdAtMs >= minAgeMs)
    return trustedDeviceSeenOn(established, network, now)
  }
