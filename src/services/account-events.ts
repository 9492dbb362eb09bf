/**
 * The account event feed: every security event of an account (a new device signed in by QR, "not me",
 * password and 2FA changes…) kept for its other devices to read with a cursor (`GET /v1/events`).
 * Stored in the durable store (`SecurityStateStore`), so the feed survives a restart on SQLite, Redis
 * and Durable Objects and is shared by every process: a bounded list per account, appended in one
 * atomic step with event ids that only grow (`max(last + 1, now)`), so a reader's `since` never skips
 * or repeats one. Readers wait for news by re-reading at a short interval, woken at once by appends
 * on the same process.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108 (malicious session spawning: notify the other devices)
 */
import { changeWaiters } from './change-waiters.ts'
import { summarizeError } from '../core/error-summary.ts'
import type { Logger, SecurityEvent, SecurityEvents, SecurityFeedBounds, SecurityStateStore, StoredSecurityEvent } from '../ports.ts'

/** One event as a device reads it (`id` is the cursor, strictly increasing per account). Never holds secrets. */
export type FeedEvent = StoredSecurityEvent

/** The feed. */
export interface AccountEvents extends SecurityEvents {
  readonly feedBounds: SecurityFeedBounds
  stored(accountId: string, event: SecurityEvent): Promise<void>
  /** Events with `id > since`, oldest first, at most `limit`. */
  readSince(accountId: string, since: number, limit: number): Promise<FeedEvent[]>
  /**
   * Like `readSince`, but when nothing is there yet waits up to `timeoutMs` for an event (or for
   * `signal` to abort), then answers with whatever there is (maybe nothing).
   */
  waitSince(accountId: string, since: number, limit: number, timeoutMs: number, signal?: AbortSignal): Promise<FeedEvent[]>
}

/** Limits of the feed. */
export interface AccountEventsLimits {
  /** Events kept per account (oldest dropped). Default 100. */
  maxEvents: number
  /** How long a feed lives after its first event. Default 7 days. */
  retentionMs: number
  /** How often a waiting reader re-reads the store (news from other processes). Default 500 ms. */
  recheckMs: number
}

const DEFAULTS: AccountEventsLimits = { maxEvents: 100, retentionMs: 7 * 24 * 3_600_000, recheckMs: 500 }

/**
 * Builds the feed over the durable store's security state.
 *
 * @example
 * const feed = accountEvents({ security: durable.security })
 * await feed.emit(accountId, { type: 'device_signed_in', atMs: clock.now(), deviceId })
 * const news = await feed.waitSince(accountId, lastSeenId, 50, 25_000)
 */
export const accountEvents = (deps: {
  security: SecurityStateStore
  limits?: Partial<AccountEventsLimits>
  /** Where a failed append is reported (it never fails the action); none: it goes unreported. */
  logger?: Logger
  /**
   * Whether an append wakes the readers waiting in this process at once (default true). Off on
   * Workers, where one request cannot resume another's I/O: readers there see news at their recheck.
   */
  wakeWaiters?: boolean
}): AccountEvents => {
  const { security } = deps
  const limits = { ...DEFAULTS, ...deps.limits }
  const bounds = { maxEvents: limits.maxEvents, retentionMs: limits.retentionMs }
  const readers = changeWaiters(deps.wakeWaiters ?? true)

  const readSince = (accountId: string, since: number, limit: number): Promise<FeedEvent[]> => security.readEvents(accountId, since, limit)

  return {
    async emit(accountId, event) {
      try {
        await security.appendEvent(accountId, event, bounds)
      } catch (error) {
        // The feed is a notification channel: a store failure must not fail the action it reports.
        deps.logger?.warn({ err: summarizeError(error), eventType: event.type }, 'security event not stored')
      } finally {
        readers.changed(accountId)
      }
    },
    async stored(accountId) {
      readers.changed(accountId)
    },
    feedBounds: bounds,
    readSince,
    async waitSince(accountId, since, limit, timeoutMs, signal) {
      // Bounded in rounds of real time (not the injected clock): each round ends at the recheck
      // interval or earlier, when this process appends to the account or the caller gives up.
      const rounds = Math.ceil(Math.max(0, timeoutMs) / limits.recheckMs)
      for (let round = 0; ; round++) {
        const found = await readSince(accountId, since, limit)
        if (found.length > 0 || round >= rounds || signal?.aborted === true) return found
        const waitMs = Math.min(limits.recheckMs, timeoutMs - round * limits.recheckMs)
        await readers.nextChange(accountId, waitMs, signal)
      }
    },
  }
}

/**
 * One `SecurityEvents` that hands every event to all `sinks` (the feed, webhooks, a test recorder);
 * a failing sink never stops the others or the caller.
 *
 * @example
 * const events = fanOutSecurityEvents(feed, webhooks.events)
 */
export const fanOutSecurityEvents = (...sinks: SecurityEvents[]): SecurityEvents => {
  // The feed among the sinks (one in practice): its store holds the events told by `stored`.
  const feedBounds = sinks.find((sink) => sink.feedBounds !== undefined)?.feedBounds
  return {
    async emit(accountId, event) {
      // Safe to drop: a sink that must report its failures does so itself (the feed logs them); one must not stop the others.
      await Promise.all(sinks.map((sink) => sink.emit(accountId, event).catch(() => {})))
    },
    async stored(accountId, event) {
      await Promise.all(sinks.map((sink) => (sink.stored ?? sink.emit).call(sink, accountId, event).catch(() => {})))
    },
    ...(feedBounds === undefined ? {} : { feedBounds }),
  }
}
