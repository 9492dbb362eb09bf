/**
 * The channel pages and what their script needs: the script itself (content-hashed, immutable),
 * `/login`, `/approve` opened from a QR link, `/account/show-qr` and `/link` (the reciprocate
 * intent), and the page-session approval endpoints
 * `GET|POST /approve/api/{user_code}`: the same handlers as `/v1/approvals/{user_code}` (same
 * context, checks, policy, step-up and limits), authenticated by the page cookie instead of a
 * token, refused to a session in QR quarantine, and a POST only from this origin; and
 * `POST /account/api/rendezvous`, the native channel create of `/account/show-qr` authenticated by the
 * page session as a bearer would be (so it works with `QRELAY_INITIATION_REQUIRE_AUTH`).
 *
 * @see ../../../docs/pages.md
 */
import type { Hono } from 'hono'
import { hashSecret } from '../../core/crypto/secrets.ts'
import { RelayError } from '../../core/errors.ts'
import type { AccountServices, Services } from '../../services/services.ts'
import type { AppEnv } from '../context.ts'
import type { AuthedEnv } from '../middleware/bearer-auth.ts'
import type { RouteFn } from '../routes/account-shared.ts'
import { approvalContextRoute, approvalDecisionRoute } from '../routes/approvals.ts'
import { sequenceRoutes } from '../routes/msc4388.ts'
import { ticketIssuer } from '../routes/tickets.ts'
import { APPROVE_SCRIPT_MESSAGES, ApprovePage, LinkPage, LOGIN_SCRIPT_MESSAGES, LoginPage, ShowQrPage } from './channel-views.tsx'
import type { MessageKey } from './i18n/en.ts'
import type { PageScriptTag } from './layout.tsx'
import { type C, frameOf, render, signedIn } from './page-context.ts'
import { fromAnotherOrigin, sameOriginPost } from './session.ts'

/** The path of the page script: its content's hash, so a new build is a new URL. */
export const pageScriptPath = (body: string): string => `/assets/pages.${hashSecret(body).slice(0, 16)}.js`

const tagOf = (
  c: C,
  src: string | undefined,
  nonce: string,
  page: PageScriptTag['page'],
  keys: readonly MessageKey[],
  username?: string,
): PageScriptTag | undefined => {
  if (src === undefined) return undefined
  const { t } = frameOf(c)
  const messages: PageScriptTag['messages'] = {}
  for (const key of keys) messages[key] = t(key)
  return { src, nonce, page, messages, ...(username === undefined ? {} : { username }) }
}

/** Runs an approval route for the page session's device (a 401 JSON answer without one). */
const asPageSession =
  (services: Services, accounts: AccountServices, route: RouteFn<AuthedEnv>, post: boolean) =>
  async (c: C): Promise<Response> => {
    // A GET spends the account's user-code look-ups: a sibling subdomain's page would carry the cookie.
    if (post ? !sameOriginPost(c, services.config.server.publicBaseUrl) : fromAnotherOrigin(c)) {
      throw new RelayError('FORBIDDEN', { detail: 'a page request must come from this origin' })
    }
    const who = await signedIn(c, services, accounts)
    if (who === null) throw new RelayError('INVALID_TOKEN', { detail: 'sign in first' })
    await accounts.deviceGuard.ensureAllowed({ accountId: who.account.id, deviceId: who.principal.deviceId }, 'approve_login')
    const authed = c as unknown as Parameters<RouteFn<AuthedEnv>>[0]
    authed.set('principal', who.principal)
    return route(authed)
  }

/** Where `/account/show-qr` creates its channel: `POST /v1/rendezvous` for the page session. */
export const PAGE_CHANNEL_PATH = '/account/api/rendezvous'

/**
 * `POST /account/api/rendezvous`: the native create for the page session's device, a same-origin POST
 * (the cookie rides along): the creator is that device, as with a bearer on `POST /v1/rendezvous`, so
 * authenticate-then-initiate (`QRELAY_INITIATION_REQUIRE_AUTH`) lets the page show its QR code. The
 * same limits, abuse counting and ticket as the API's create.
 */
const mountPageChannelCreate = (app: Hono<AppEnv>, services: Services, accounts: AccountServices): void => {
  const { config, tickets, sightings } = services
  const { create } = sequenceRoutes({
    rendezvous: services.rendezvous,
    api: 'native',
    maxPayloadBytes: config.rendezvous.maxPayloadBytes,
    createAvailable: true,
    ...(tickets === undefined ? {} : { issueTicket: ticketIssuer(tickets, config.server.publicBaseUrl) }),
  })
  app.post(PAGE_CHANNEL_PATH, async (c, next) => {
    if (!sameOriginPost(c, config.server.publicBaseUrl))
      throw new RelayError('FORBIDDEN', { detail: 'a page request must come from this origin' })
    const who = await signedIn(c, services, accounts)
    if (who === null) throw new RelayError('INVALID_TOKEN', { detail: 'sign in first' })
    ;(c as unknown as Parameters<RouteFn<AuthedEnv>>[0]).set('principal', who.principal)
    c.set('flavor', 'native')
    if (sightings.locates) c.set('clientAsn', await sightings.asnOf(c.get('clientAddress'), c.req.raw))
    return create(c, next)
  })
}

/**
 * Mounts the script (when the runtime has one), `/login`, and the approval endpoints; returns the
 * handler of `GET /approve` without a code (the code page with the channel part).
 *
 * @example
 * const approvePage = mountChannelPages(app, services, host.pageScript)
 */
export const mountChannelPages = (
  app: Hono<AppEnv>,
  services: Services,
  script: (() => Promise<string | undefined>) | undefined,
): ((c: C) => Promise<Response>) => {
  // The script's text and path, once the runtime has loaded it (on the first page that needs it).
  const loaded = async (): Promise<{ body: string; src: string } | undefined> => {
    const body = await script?.()
    return body === undefined ? undefined : { body, src: pageScriptPath(body) }
  }
  app.get('/assets/:file{pages\\.[A-Za-z0-9_-]{16}\\.js}', async (c) => {
    const current = await loaded()
    if (current === undefined || c.req.path !== current.src) return c.notFound()
    return c.body(current.body, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    })
  })
  app.get('/login', async (c) => {
    const src = (await loaded())?.src
    return render(c, services, (nonce) => <LoginPage frame={frameOf(c)} script={tagOf(c, src, nonce, 'login', LOGIN_SCRIPT_MESSAGES)} />)
  })
  app.get('/link', async (c) => {
    // It signs this browser in to whoever showed the QR code, whose device takes the check code:
    // followed from another page it would sign a visitor in to a stranger's account without a click.
    const fromAnotherSite = fromAnotherOrigin(c)
    const src = fromAnotherSite ? undefined : (await loaded())?.src
    return render(c, services, (nonce) => (
      <LinkPage frame={frameOf(c)} script={tagOf(c, src, nonce, 'link', APPROVE_SCRIPT_MESSAGES)} fromAnotherSite={fromAnotherSite} />
    ))
  })
  const accounts = services.accounts
  if (accounts !== undefined) {
    app.get('/account/show-qr', async (c) => {
      const who = await signedIn(c, services, accounts)
      if (who === null) return c.redirect('/signin?next=/account', 303)
      const src = (await loaded())?.src
      return render(c, services, (nonce) => (
        <ShowQrPage frame={frameOf(c)} script={tagOf(c, src, nonce, 'show', APPROVE_SCRIPT_MESSAGES, who.account.username)} />
      ))
    })
    const deps = { requests: accounts.approvalRequests, sightings: services.sightings }
    const decide = approvalDecisionRoute({
      ...deps,
      approvals: accounts.approvals,
      accounts: accounts.auth.accounts,
      uia: accounts.auth.uia,
      tickets: services.tickets,
      oauth: services.config.oauth,
      publicBaseUrl: services.config.server.publicBaseUrl,
    })
    app.get('/approve/api/:user_code', asPageSession(services, accounts, approvalContextRoute(deps), false))
    app.post('/approve/api/:user_code', asPageSession(services, accounts, decide, true))
    if (services.config.rendezvous.nativeEnabled) mountPageChannelCreate(app, services, accounts)
  }
  return async (c) => {
    const who = accounts === undefined ? null : await signedIn(c, services, accounts)
    const src = (await loaded())?.src
    return render(c, services, (nonce) => (
      <ApprovePage frame={frameOf(c)} script={tagOf(c, src, nonce, 'approve', APPROVE_SCRIPT_MESSAGES, who?.account.username)} />
    ))
  }
}
