/**
 * The token endpoint's long poll (`Prefer: wait=N`, RFC 7240, on a device-code poll): an answer of
 * `authorization_pending` is held until the grant is decided (approved, declined, redeemed, expired),
 * at most `N` seconds and never longer than the grant's own polling interval (so the poll that follows
 * the held answer is on time, never slowed). Woken at once by a change stored in this process; the
 * grant is re-read every {@link GRANT_RECHECK_MS} for changes stored by other processes.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7240#section-4.3
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 */
import { awaitsInitiationCode, type DeviceGrant } from '../core/oauth/device-grant.ts'
import type { DeviceGrantsService } from './device-grants.ts'

/** How often a held poll re-reads its grant (changes stored by another process). */
export const GRANT_RECHECK_MS = 500
/** The longest wait a poll may ask for, in seconds. */
export const MAX_GRANT_WAIT_SECONDS = 30

/** True once a poll would no longer answer `authorization_pending` (nor `slow_down`) for this grant. */
export const isDecided = (grant: DeviceGrant): boolean =>
  grant.state.kind !== 'pending' && !(grant.state.kind === 'approved' && awaitsInitiationCode(grant))

/** How long a poll asking to wait `waitSeconds` is held at most: capped by the grant's interval. */
export const holdMsOf = (grant: DeviceGrant, waitSeconds: number): number =>
  Math.max(0, Math.min(waitSeconds, MAX_GRANT_WAIT_SECONDS, grant.intervalSeconds)) * 1000

/**
 * Waits (in real time) until grant `id` is decided, for at most `holdMs`; true when it is (poll it
 * again), false at the end of the hold, when the grant is gone, or when `signal` aborts.
 */
export const waitUntilDecided = async (grants: DeviceGrantsService, id: string, holdMs: number, signal?: AbortSignal): Promise<boolean> => {
  // Bounded: each round ends at the recheck interval or earlier; there are at most ceil(hold / recheck).
  const rounds = Math.ceil(holdMs / GRANT_RECHECK_MS)
  for (let round = 0; round < rounds && signal?.aborted !== true; round++) {
    await grants.changes.nextChange(id, Math.min(GRANT_RECHECK_MS, holdMs - round * GRANT_RECHECK_MS), signal)
    const stored = await grants.findById(id)
    if (stored === null) return false
    if (isDecided(stored.grant)) return true
  }
  return false
}
