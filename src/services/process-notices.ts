/**
 * The account feed and the device grants of a process (Node on Redis, with change notices) announcing
 * their changes to the other processes, whose changes wake the polls held here.
 */
import { summarizeError } from '../core/error-summary.ts'
import type { Logger } from '../ports.ts'
import type { AccountEvents } from './account-events.ts'
import type { ChangeNotices } from './change-waiters.ts'
import type { DeviceGrantsService } from './device-grants.ts'
import { feedWithNotices } from './feed-notices.ts'
import { grantsWithNotices } from './grant-notices.ts'

/**
 * The `shareChanges` of a process whose changes reach the others through `notices` (Node on Redis:
 * only where one request may wake another): `feed` and `grants` announcing their changes, and woken
 * by the other processes' ones. A notice that cannot be sent or received is logged once as a warning;
 * held polls then wake at their re-read.
 *
 * @example
 * compose(config, { ...ports, shareChanges: sharedAcrossProcesses(notices, logger) })
 */
export const sharedAcrossProcesses =
  (notices: ChangeNotices, logger: Logger) =>
  (feed: AccountEvents, grants: DeviceGrantsService): { feed: AccountEvents; grants: DeviceGrantsService } => {
    const failed = (error: unknown): void =>
      logger.warn({ err: summarizeError(error) }, 'change notices unavailable: held polls wake at their re-read')
    return { feed: feedWithNotices(feed, notices, failed), grants: grantsWithNotices(grants, notices, failed) }
  }
