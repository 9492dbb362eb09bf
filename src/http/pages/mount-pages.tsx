/**
 * The pages people use (docs/pages.md): `/device` and `/approve` (the RFC 8628 `verification_uri`,
 * also with `?user_code=`) and `/signin`, plus the content-hashed style sheet. Server-rendered, complete
 * without JavaScript; every POST is checked for its `Origin` (see `session.ts`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.3
 */
import { LOGIN_SESSION_PATH, mountLoginHandoff } from './login-handoff.ts'
import type { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import * as v from 'valibot'
import { RelayError } from '../../core/errors.ts'
import { DEVICE_CODE_FORM } from '../openapi/page-forms.ts'
import type { AccountServices, Services } from '../../services/services.ts'
import { UiaChallengeError } from '../../services/uia.ts'
import type { AppEnv } from '../context.ts'
import { mountAccountDevices } from './account-devices.tsx'
import { mountAccountFeed } from './account-feed.ts'
import { mountAccountSecurity } from './account-security.tsx'
import { mountChannelPages } from './channel-pages.tsx'
import { decideTyped, proceedWithCode } from './device-approve.tsx'
import { type C, formOf, frameOf, keepTokens, render, signedIn } from './page-context.ts'
import { clearPageSession, fromAnotherOrigin, readPageTrust, sameOriginPost, writePageTrust } from './session.ts'
import { pageContent } from './page-content.ts'
import { readTypedUserCode } from './user-code-input.ts'
import { CodeEntry, Message, SigninForm, type SigninStep } from './views.tsx'

/** The paths of page forms: each body is capped before it is parsed. */
const FORM_PATHS = [
  LOGIN_SESSION_PATH,
  '/device',
  '/device/decide',
  '/signin',
  '/signout',
  '/account/devices/sign-out',
  '/account/devices/not-me',
  '/account/totp/begin',
  '/account/totp/confirm',
  '/account/totp/disable',
  '/account/recovery-codes',
  '/account/password',
]

/** One round of the sign-in form through the UIA service (the same stages, limits and failure accounting as `POST /v1/login`). */
const signinRound = async (c: C, services: Services, accounts: AccountServices): Promise<Response> => {
  const frame = frameOf(c)
  const form = await formOf(c)
  const userCode = form.user_code === undefined ? undefined : (readTypedUserCode(form.user_code) ?? undefined)
  const username = (form.username ?? '').trim()
  const { publicBaseUrl } = services.config.server
  // The token of an earlier sign-in in this browser: its guesses use a budget of their own.
  const presentedTrust = readPageTrust(c, publicBaseUrl)
  const next = form.next === '/account' || form.next === '/approve' ? form.next : undefined
  const base: SigninStep = { ...(userCode === undefined ? {} : { userCode }), ...(next === undefined ? {} : { next }) }
  const request = (auth?: Record<string, unknown>) => ({
    method: 'POST',
    path: '/signin',
    body: auth === undefined ? { username } : { username, auth },
    clientKey: c.get('clientKey'),
    ...(presentedTrust === undefined ? {} : { deviceTrust: presentedTrust }),
  })
  const subject = { kind: 'username' as const, username }
  try {
    let session = form.session
    if (session === undefined) {
      // The first round opens a UIA session; the password is then checked against it.
      session = await accounts.auth.uia.authorize(request(), subject).then(
        () => '',
        (error: unknown) => {
          if (error instanceof UiaChallengeError) return error.body.session
          throw error
        },
      )
    }
    const auth =
      form.session === undefined
        ? { type: 'm.login.password', password: form.password ?? '', session }
        : (form.totp ?? '') !== ''
          ? { type: 'm.login.2fa.totp', code: (form.totp ?? '').replace(/\s/g, ''), session }
          : { type: 'm.login.2fa.recovery', code: (form.recovery ?? '').trim(), session }
    const account = await accounts.auth.uia.authorize(request(auth), subject)
    if (account === null) throw new RelayError('INTERNAL', { detail: 'sign-in completed without an account' })
    const tokens = await accounts.auth.sessions.signIn(account, {
      displayName: 'Web browser',
      origin: 'password',
      network: c.get('clientKey'),
    })
    keepTokens(c, services, tokens)
    const trust = await accounts.auth.trust.issue(account, presentedTrust)
    // None when the account used up its new tokens for now (finding 61): the cookie it has stays.
    if (trust !== undefined) writePageTrust(c, publicBaseUrl, trust, services.config.auth.deviceTrustTtlSeconds)
    if (next !== undefined) return c.redirect(next, 303)
    return c.redirect(userCode === undefined ? '/device' : `/device?user_code=${userCode}`, 303)
  } catch (error) {
    if (error instanceof UiaChallengeError) {
      const passwordDone = error.body.completed.includes('m.login.password')
      const step: SigninStep = passwordDone ? { ...base, second: { session: error.body.session, username } } : base
      const problem = error.body.errcode === undefined ? undefined : frame.t(passwordDone ? 'wrongSecondFactor' : 'wrongCredentials')
      return render(
        c,
        services,
        <SigninForm frame={frame} step={step} {...(problem === undefined ? {} : { problem })} />,
        problem === undefined ? 200 : 403,
      )
    }
    if (!(error instanceof RelayError)) throw error
    const limited = error.code === 'RATE_LIMITED'
    return render(
      c,
      services,
      <SigninForm frame={frame} step={base} problem={frame.t(limited ? 'tooManyAttempts' : 'signinFailed')} />,
      limited ? 429 : 403,
    )
  }
}

/** `POST /signout`: signs this browser's device out (the same as `POST /v1/logout`) and clears the cookies. */
/** The answer to a page POST from another origin. */
const refusedPage = (c: C, services: Services) =>
  render(c, services, <Message frame={frameOf(c)} title={frameOf(c).t('signinTitle')} text={frameOf(c).t('forbiddenOrigin')} />, 403)

const signOut = (services: Services) => async (c: C) => {
  const accounts = services.accounts
  if (!sameOriginPost(c, services.config.server.publicBaseUrl)) return refusedPage(c, services)
  const frame = frameOf(c)
  const who = accounts === undefined ? null : await signedIn(c, services, accounts)
  if (who !== null) await accounts?.devices.signOut({ accountId: who.account.id, deviceId: who.principal.deviceId }, who.principal.deviceId)
  clearPageSession(c, services.config.server.publicBaseUrl)
  return render(
    c,
    services,
    <Message
      frame={frame}
      title={frame.t('signedOutTitle')}
      text={frame.t('signedOut')}
      back="/signin?next=/account"
      backLabel={frame.t('signInAgain')}
    />,
  )
}

/**
 * True for a person's browser opening an address (a top-level navigation): `Sec-Fetch-Dest: document`,
 * or, from a browser without Fetch Metadata, a GET that asks for HTML first.
 */
export const isPageNavigation = (c: C): boolean => c.req.method === 'GET' && isDocumentRequest(c)

/** The API's namespaces: whatever asks, their answers are the API's JSON (a client's, not a page's). */
const API_PREFIXES = ['/_matrix/', '/v1/', '/oauth2/', '/.well-known/']

/**
 * True for a request whose answer the browser shows as a page (a navigation, or a page form's POST) at
 * an address outside the API's namespaces.
 */
const isDocumentRequest = (c: C): boolean => {
  // Repeated slashes collapsed: `//v1//login` is an API path that the router did not match.
  const path = c.req.path.replace(/\/{2,}/g, '/')
  if (API_PREFIXES.some((prefix) => path.startsWith(prefix))) return false
  const dest = c.req.header('sec-fetch-dest')
  return dest === undefined ? (c.req.header('accept') ?? '').startsWith('text/html') : dest === 'document'
}

/**
 * The page of a server-side failure (`answer`, the API's JSON error, already logged) for a person's
 * browser: what happened in words, the same status and `Retry-After`; it says only that it failed.
 * Anything else gets `answer`.
 */
export const failurePage = (c: C, services: Services, answer: Response): Response => {
  if (services.accounts === undefined || answer.status < 500 || !isDocumentRequest(c)) return answer
  const frame = frameOf(c)
  const unavailable = answer.status === 503
  const view = (
    <Message
      frame={frame}
      title={frame.t(unavailable ? 'unavailableTitle' : 'internalTitle')}
      text={frame.t(unavailable ? 'unavailable' : 'internal')}
      back="/account"
      backLabel={frame.t('toAccount')}
    />
  )
  const page = render(c, services, view, unavailable ? 503 : 500)
  const retryAfter = answer.headers.get('retry-after')
  if (retryAfter !== null) page.headers.set('retry-after', retryAfter)
  page.headers.set('cache-control', 'no-store')
  return page
}

/** The answer to a person's browser at an address with no page: a page, never the API's JSON error. */
export const notFoundPage = (c: C, services: Services): Response => {
  // The language links go to the account page, never to the address asked for: a path is the
  // requester's text, and `//host` in a link is another site.
  const frame = { ...frameOf(c), here: '/account' }
  return render(
    c,
    services,
    <Message frame={frame} title={frame.t('notFoundTitle')} text={frame.t('notFound')} back="/account" backLabel={frame.t('toAccount')} />,
    404,
  )
}

/**
 * Mounts the pages on `app`; `script` loads the page script (`scripts/build.ts`), when the runtime has one.
 *
 * @example
 * mountPages(app, services)
 */
export const mountPages = (app: Hono<AppEnv>, services: Services, script?: () => Promise<string | undefined>): void => {
  const { content, stylePath } = pageContent()
  app.get(stylePath, (c) =>
    c.body(content.styleCss, 200, {
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    }),
  )
  const accounts = services.accounts
  // A page form is a few fields: anything larger is refused before it is parsed.
  for (const path of FORM_PATHS) app.post(path, bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.text('', 413) }))
  const unavailable = (c: C) =>
    render(c, services, <Message frame={frameOf(c)} title={frameOf(c).t('signinTitle')} text={frameOf(c).t('notAvailable')} />, 400)
  const refused = (c: C) => refusedPage(c, services)

  // `/approve` is the `verification_uri` the device authorization endpoint hands out: the same page.
  const codePage = async (c: C) => {
    const typed = c.req.query('user_code')
    const frame = frameOf(c)
    if (typed === undefined) return render(c, services, <CodeEntry frame={frame} value="" />)
    const userCode = readTypedUserCode(typed)
    if (userCode === null) return render(c, services, <CodeEntry frame={frame} value={typed} problem={frame.t('badCode')} />, 400)
    if (accounts === undefined) return unavailable(c)
    // Opened by another origin's page (a sibling subdomain carries the cookie): the code goes in the
    // form, and only this origin's own POST looks it up (a look-up spends the account's budget).
    if (fromAnotherOrigin(c)) return render(c, services, <CodeEntry frame={frame} value={typed} />)
    return proceedWithCode(c, services, accounts, userCode)
  }
  const approvePage = mountChannelPages(app, services, script)
  app.get('/device', codePage)
  // `/approve` with a QR link's fragment: the script joins the channel (the server never sees the fragment).
  app.get('/approve', (c) => (c.req.query('user_code') === undefined ? approvePage(c) : codePage(c)))
  app.post('/device', async (c) => {
    if (!sameOriginPost(c, services.config.server.publicBaseUrl)) return refused(c)
    const frame = frameOf(c)
    const typed = v.parse(DEVICE_CODE_FORM, await formOf(c)).user_code
    const userCode = readTypedUserCode(typed)
    if (userCode === null) return render(c, services, <CodeEntry frame={frame} value={typed} problem={frame.t('badCode')} />, 400)
    if (accounts === undefined) return unavailable(c)
    // Opened by another origin's page (a sibling subdomain carries the cookie): the code goes in the
    // form, and only this origin's own POST looks it up (a look-up spends the account's budget).
    if (fromAnotherOrigin(c)) return render(c, services, <CodeEntry frame={frame} value={typed} />)
    return proceedWithCode(c, services, accounts, userCode)
  })
  app.post('/device/decide', async (c) => {
    if (!sameOriginPost(c, services.config.server.publicBaseUrl)) return refused(c)
    if (accounts === undefined) return unavailable(c)
    // A typed code has no channel: approving it shows a code for the new device (never silently weaker); Decline burns it.
    return decideTyped(c, services, accounts)
  })
  app.get('/signin', (c) => {
    const next = c.req.query('next')
    const step: SigninStep = next === '/account' || next === '/approve' ? { next } : {}
    return render(c, services, <SigninForm frame={frameOf(c)} step={step} />)
  })
  app.post('/signout', signOut(services))
  if (accounts !== undefined) {
    // The server's own address, opened by a person: the account page (which asks them to sign in first);
    // an API client keeps the JSON 404 of any unknown path.
    app.get('/', (c) => (isPageNavigation(c) ? c.redirect('/account', 303) : c.notFound()))
    mountAccountDevices(app, services, accounts)
    mountAccountFeed(app, services, accounts)
    mountAccountSecurity(app, services, accounts)
    mountLoginHandoff(app, services, accounts)
  }
  app.post('/signin', async (c) => {
    if (!sameOriginPost(c, services.config.server.publicBaseUrl)) return refused(c)
    if (accounts === undefined) return unavailable(c)
    return signinRound(c, services, accounts)
  })
}
