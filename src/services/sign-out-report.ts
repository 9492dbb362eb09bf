/**
 * How a change that signs devices out reports its security event: appended to the account's feed in
 * the change's own store step when the events have a feed (`append`, its count of signed-out devices
 * written in the step under `countAs`), then told to the sinks after the commit (`tell`: `stored`, or
 * `emit` without a feed) with the count the step found. A password change, a disable, a "not me"
 * report and the operator's sign-out of a device go this way (`AccountStore.updateAndSignOut`,
 * `DeviceStore.revokeMany`).
 */
import { countedEvent } from '../core/accounts/counted-event.ts'
import type { CountedFeedAppend, SecurityEvent, SecurityEvents } from '../ports.ts'

/**
 * The step's append (undefined: the events have no feed) and the telling after it.
 *
 * @example
 * const { append, tell } = signOutReport(events, { type: 'device_revoked', atMs, deviceId })
 * const { revoked } = await durable.devices.revokeMany(accountId, [deviceId], append)
 * if (revoked.length > 0) await tell(accountId, revoked.length)
 */
export const signOutReport = (
  events: SecurityEvents,
  event: SecurityEvent,
  countAs?: string,
): { append: CountedFeedAppend | undefined; tell(accountId: string, signedOut: number): Promise<void> } => {
  const bounds = events.feedBounds
  const stored = bounds === undefined ? undefined : events.stored?.bind(events)
  const append = stored === undefined || bounds === undefined ? undefined : { event, bounds, countAs }
  return {
    append,
    // The sinks do not throw (a failing one logs itself); the change stands either way.
    tell: (accountId, signedOut) => (stored ?? events.emit.bind(events))(accountId, countedEvent(event, countAs, signedOut)),
  }
}
