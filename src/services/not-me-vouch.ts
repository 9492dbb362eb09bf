/**
 * The waiver of a "not me" deny of everybody: a network is the account's own when one of its trusted
 * devices (out of quarantine, still signed in) was last seen there within 30 days. Reports by other
 * accounts cannot lock such an owner out of approving, or of creating channels signed in, from home or
 * the office (the same rule that keeps the account's own reports from denying that network).
 *
 * @see ../core/policy/not-me.ts
 * @see ./abuse-guard.ts
 */
import { trustedDeviceSeenOn } from '../core/policy/not-me.ts'
import type { Clock, DeviceStore } from '../ports.ts'

/**
 * The abuse guard's `vouches`: one device list read, made only when a global "not me" deny is all
 * that stands between the account and the network.
 *
 * @example
 * const vouches = trustedNetworkVouch(durable.devices, clock)
 * await vouches(accountId, '203.0.113.7') // true when a trusted device of the account was last seen there
 */
export const trustedNetworkVouch =
  (devices: Pick<DeviceStore, 'listByAccount'>, clock: Clock) =>
  async (accountId: string, network: string): Promise<boolean> =>
    trustedDeviceSeenOn(await devices.listByAccount(accountId), network, clock.now())
