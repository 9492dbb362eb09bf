/**
 * The live security-event feed of `/account`: its script (`feed-script.ts`) and
 * `GET /account/events?since=<id>`, a long poll on the account feed service (the same feed as
 * `GET /v1/events`), answering the new events in the page's words. Behind the page session; a device
 * signed out while its read was held gets 401, not the news.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108 (notify the other devices)
 */
import type { Hono } from 'hono'
import { RelayError } from '../../core/errors.ts'
import type { AccountServices, Services } from '../../services/services.ts'
import type { AppEnv } from '../context.ts'
import { eventText } from './account-kit.tsx'
import { formatTime } from './account-views.tsx'
import { pageContent } from './page-content.ts'
import { frameOf, signedIn } from './page-context.ts'

/**
 * Mounts the feed's script and endpoint.
 *
 * @example
 * mountAccountFeed(app, services, accounts)
 */
export const mountAccountFeed = (app: Hono<AppEnv>, services: Services, accounts: AccountServices): void => {
  const { sessions } = accounts.auth
  const { content, feedScriptPath } = pageContent()
  app.get(feedScriptPath, (c) =>
    c.body(content.feedScript, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    }),
  )
  // The live feed: events after `since`, waiting up to 25 s for one (a long poll), in the page's words.
  app.get('/account/events', async (c) => {
    const who = await signedIn(c, services, accounts)
    if (who === null) throw new RelayError('INVALID_TOKEN', { detail: 'sign in first' })
    const since = Number.parseInt(c.req.query('since') ?? '0', 10)
    if (!Number.isSafeInteger(since) || since < 0) throw new RelayError('INVALID_PARAM', { detail: 'since must be an event id' })
    const events = await accounts.feed.waitSince(who.account.id, since, 20, 25_000, c.req.raw.signal)
    const names = new Map((await sessions.listDevices(who.account.id)).map((d) => [d.id, d.displayName]))
    // The session was checked when the read began: a device signed out meanwhile hears nothing more.
    if (!names.has(who.principal.deviceId)) throw new RelayError('INVALID_TOKEN', { detail: 'sign in first' })
    const { t, lang } = frameOf(c)
    const body = events.map((e) => ({
      id: e.id,
      datetime: new Date(e.atMs).toISOString(),
      time: formatTime(lang, e.atMs),
      text: eventText(t, e, names),
    }))
    return c.json({ events: body }, 200, { 'cache-control': 'no-store' })
  })
}
