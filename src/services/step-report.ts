/**
 * How a change reports a security event it appends to the account's feed in its own store step: the
 * step appends it where the events have a feed (`feedBounds`), and the sinks are told after the commit
 * (`stored`: the feed only wakes its readers, the webhook sink enqueues; `emit` without a feed). A
 * sign-in (`signInReport` in ./sessions.ts), a password change, a disable, a "not me" report and the
 * sign-outs of a device go this way (`DeviceStore.createWithTokens`, `AccountStore.updateAndSignOut`,
 * `DeviceStore.revokeMany`).
 */
import { countedEvent } from '../core/accounts/counted-event.ts'
import type { CountedFeedAppend, SecurityEvent, SecurityEvents, SecurityFeedBounds } from '../ports.ts'

/**
 * The feed's bounds (undefined: the step appends nothing) and the telling after the step.
 *
 * @example
 * const { bounds, tell } = stepReport(events)
 * // …the store's step appends the event when `bounds` is set…
 * await tell(accountId, event)
 */
export const stepReport = (
  events: SecurityEvents,
): { bounds: SecurityFeedBounds | undefined; tell(accountId: string, event: SecurityEvent): Promise<void> } => {
  const stored = events.feedBounds === undefined ? undefined : events.stored?.bind(events)
  return {
    bounds: stored === undefined ? undefined : events.feedBounds,
    // The sinks do not throw (a failing one logs itself); the change stands either way.
    tell: stored ?? events.emit.bind(events),
  }
}

/**
 * {@link stepReport} for a change that signs devices out: the step's append, its count of signed-out
 * devices written in the step under `countAs`, and the telling after it with the count the step found.
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
  const { bounds, tell } = stepReport(events)
  return {
    append: bounds === undefined ? undefined : { event, bounds, countAs },
    tell: (accountId, signedOut) => tell(accountId, countedEvent(event, countAs, signedOut)),
  }
}
