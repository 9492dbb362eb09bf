/**
 * The account feed with appends announced to, and heard from, the other processes (Node with Redis): an
 * event appended on one process wakes a `GET /v1/events` held on another at once, instead of at that
 * reader's next re-read (the feed's `recheckMs`, which stays as the fallback for a lost notice). The feed
 * itself is unchanged: a notice only ends the held read early, through its abort signal, and the read
 * looks again with the time it has left.
 */
import { hashSecret } from '../core/crypto/secrets.ts'
import type { AccountEvents } from './account-events.ts'
import { changeWaiters, sharedChangeWaiters, type ChangeNotices } from './change-waiters.ts'

/** The pub/sub topic of feed appends. */
const TOPIC = 'feed'
/** An account id's name in a notice: its SHA-256, base64url, 22 characters. */
const nameOf = (id: string): string => hashSecret(id).slice(0, 22)
/** Reads woken by notices without news, at most, before a read waits out its time (a bound, never reached in practice). */
const MAX_WAKES = 64

/**
 * `feed` with appends announced through `notices`, and reads woken by the other processes' appends.
 *
 * @example
 * const shared = feedWithNotices(accountEvents({ security }), notices)
 */
export const feedWithNotices = (
  feed: AccountEvents,
  notices: ChangeNotices,
  onError: (error: unknown) => void = () => {},
): AccountEvents => {
  const appended = sharedChangeWaiters(changeWaiters(true), notices, TOPIC, nameOf)
  appended.ready.catch(onError)
  return {
    ...feed,
    async emit(accountId, event) {
      await feed.emit(accountId, event)
      appended.changed(accountId)
    },
    async stored(accountId, event) {
      await feed.stored(accountId, event)
      appended.changed(accountId)
    },
    async waitSince(accountId, since, limit, timeoutMs, signal) {
      const deadline = Date.now() + Math.max(0, timeoutMs)
      for (let wakes = 0; ; wakes++) {
        const remaining = Math.max(0, deadline - Date.now())
        const woken = new AbortController()
        const stopWaiting = new AbortController()
        const abort = (): void => woken.abort()
        signal?.addEventListener('abort', abort, { once: true })
        if (signal?.aborted === true) woken.abort()
        let noticed = false
        void appended.nextChange(accountId, remaining, stopWaiting.signal).then(() => {
          if (stopWaiting.signal.aborted) return
          noticed = true
          woken.abort()
        })
        try {
          const found = await feed.waitSince(accountId, since, limit, remaining, woken.signal)
          if (found.length > 0 || !noticed || signal?.aborted === true || wakes >= MAX_WAKES || Date.now() >= deadline) return found
        } finally {
          stopWaiting.abort()
          signal?.removeEventListener('abort', abort)
        }
      }
    },
  }
}
