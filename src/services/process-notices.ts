/**
 * The account feed and the device grants of a process, as they are, or (Node on Redis, with change
 * notices) announcing their changes to the other processes, whose changes wake the polls held here.
 */
import { summarizeError } from '../core/error-summary.ts'
import type { Logger } from '../ports.ts'
import type { AccountEvents } from './account-events.ts'
import type { ChangeNotices } from './change-waiters.ts'
import type { DeviceGrantsService } from './device-grants.ts'
import { feedWithNotices } from './feed-notices.ts'
import { grantsWithNotices } from './grant-notices.ts'

/**
 * `feed` and `grants` wrapped with the ports' change notices, or unchanged without them.
 *
 * @example
 * const { feed, grants } = sharedAcrossProcesses({ changeNotices, wakesAcrossRequests: true, logger }, feed, grants)
 */
export const sharedAcrossProcesses = (
  ports: { changeNotices?: ChangeNotices | undefined; wakesAcrossRequests?: boolean | undefined; logger: Logger },
  feed: AccountEvents,
  grants: DeviceGrantsService,
): { feed: AccountEvents; grants: DeviceGrantsService } => {
  // Notices wake waiters across requests: only where one request may resume another (not on Workers).
  const notices = ports.wakesAcrossRequests === true ? ports.changeNotices : undefined
  const { logger } = ports
  if (notices === undefined) return { feed, grants }
  const failed = (error: unknown): void =>
    logger.warn({ err: summarizeError(error) }, 'change notices unavailable: held polls wake at their re-read')
  return { feed: feedWithNotices(feed, notices, failed), grants: grantsWithNotices(grants, notices, failed) }
}
