/**
 * `GET /v1/events?since=<id>&timeout_ms=<ms>` (Bearer): the account's security events for its other
 * devices: a new device signed in by QR ("was this you?" — answer with `POST /v1/devices/{id}/not-me`),
 * "not me" reports, password and 2FA changes. Answers at once when there are events after `since`;
 * otherwise waits up to `timeout_ms` (at most 30 s; 0: never waits) — a long poll that works through
 * any process sharing the store. Body `{ events: [{ id, type, at, device_id?, details? }], next_since }`.
 * A device signed out while its read was held (a "not me" report, a password change) gets 401, not the
 * news: the signed-in state is checked again before the answer.
 *
 * @see ../../services/account-events.ts
 */
import * as v from 'valibot'
import { RelayError } from '../../core/errors.ts'
import type { AccountEvents } from '../../services/account-events.ts'
import type { SessionsService } from '../../services/sessions.ts'
import type { AuthedEnv } from '../middleware/bearer-auth.ts'
import { NO_STORE, type RouteFn } from './account-shared.ts'

/** Longest long poll. */
export const MAX_EVENTS_WAIT_MS = 30_000
const PAGE = 50

/** `?since=` and `?timeout_ms=`: a non-negative integer (empty: the default). */
export const EVENTS_NUMBER = v.pipe(v.string(), v.regex(/^(\d{1,16})?$/))

const numberParam = (text: string | undefined, name: string, fallback: number, max: number): number => {
  if (text !== undefined && !v.is(EVENTS_NUMBER, text))
    throw new RelayError('INVALID_PARAM', { detail: `${name} must be a non-negative integer` })
  return text === undefined || text === '' ? fallback : Math.min(Number(text), max)
}

/**
 * Builds the handler.
 *
 * @example
 * authed.get('/v1/events', eventsRoute(feed, sessions))
 */
export const eventsRoute = (feed: AccountEvents, sessions: Pick<SessionsService, 'isSignedIn'>): RouteFn<AuthedEnv> =>
  async function events(c) {
    const since = numberParam(c.req.query('since'), 'since', 0, Number.MAX_SAFE_INTEGER)
    const timeoutMs = numberParam(c.req.query('timeout_ms'), 'timeout_ms', 0, MAX_EVENTS_WAIT_MS)
    const { accountId, deviceId } = c.get('principal')
    const found = await feed.waitSince(accountId, since, PAGE, timeoutMs, c.req.raw.signal)
    // The token was checked when the read began: a device signed out meanwhile hears nothing more.
    if (!(await sessions.isSignedIn(accountId, deviceId))) {
      throw new RelayError('INVALID_TOKEN', { detail: 'unknown or expired access token' })
    }
    return c.json(
      {
        events: found.map((e) => ({
          id: e.id,
          type: e.type,
          at: new Date(e.atMs).toISOString(),
          ...(e.deviceId === undefined ? {} : { device_id: e.deviceId }),
          ...(e.details === undefined ? {} : { details: e.details }),
        })),
        next_since: found.at(-1)?.id ?? since,
      },
      200,
      NO_STORE,
    )
  }
