/**
 * Device grants whose changes wake held token polls on the other processes too (Node with Redis): a
 * stored change of a grant (approved, declined, redeemed) is announced by the grant's opaque name, and a
 * poll held on another process (`Prefer: wait=N`, ./grant-wait.ts) re-reads the grant at once instead of
 * at its next re-read (`GRANT_RECHECK_MS`), which stays as the fallback for a lost notice.
 */
import { hashSecret } from '../core/crypto/secrets.ts'
import { sharedChangeWaiters, type ChangeNotices } from './change-waiters.ts'
import type { DeviceGrantsService } from './device-grants.ts'

/** The pub/sub topic of grant changes. */
const TOPIC = 'grant'
/** A grant id's name in a notice: its SHA-256, base64url, 22 characters (as the Redis key names). */
const nameOf = (id: string): string => hashSecret(id).slice(0, 22)

/**
 * `grants` with changes announced to, and heard from, the other processes through `notices`.
 *
 * @example
 * const grants = grantsWithNotices(deviceGrantsService({ kv, clock, random, limits, wakeWatchers: true }), notices)
 */
export const grantsWithNotices = (grants: DeviceGrantsService, notices: ChangeNotices, onError: (error: unknown) => void = () => {}) => {
  const changes = sharedChangeWaiters(grants.changes, notices, TOPIC, nameOf)
  changes.ready.catch(onError)
  const shared: DeviceGrantsService = {
    ...grants,
    async replace(stored, next) {
      const replaced = await grants.replace(stored, next)
      // The plain service woke this process's waiters; the others hear it from here.
      if (replaced !== null) notices.publish(TOPIC, nameOf(stored.grant.id))
      return replaced
    },
    changes,
  }
  return shared
}
