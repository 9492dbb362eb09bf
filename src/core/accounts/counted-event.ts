/**
 * The security event of a change that signs devices out, with how many it signed out: the count is
 * known only inside the store's step (`AccountStore.updateAndSignOut`), which stores the event with
 * it; the service tells the sinks the same event after.
 */
import type { SecurityEvent } from '../../ports.ts'

/**
 * `event` with its detail `countAs` set to `signedOut` (the event itself without `countAs`).
 *
 * @example
 * countedEvent({ type: 'password_changed', atMs: 0 }, 'devices_signed_out', 2) // details: { devices_signed_out: 2 }
 */
export const countedEvent = (event: SecurityEvent, countAs: string | undefined, signedOut: number): SecurityEvent =>
  countAs === undefined ? event : { ...event, details: { ...event.details, [countAs]: signedOut } }
