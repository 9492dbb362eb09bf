/**
 * What every page handler shares: the frame (language, translator, path), rendering with the page
 * headers, reading a small form, and the signed-in account of the page session, renewed with its
 * refresh cookie when the access token has expired (docs/pages.md, "The page session").
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 */
import type { Context } from 'hono'
import type { Child } from 'hono/jsx'
import type { AccountRecord } from '../../core/accounts/records.ts'
import { RelayError } from '../../core/errors.ts'
import type { AccountServices, Services } from '../../services/services.ts'
import { RefreshError, type IssuedTokens, type Principal } from '../../services/sessions.ts'
import type { AppEnv } from '../context.ts'
import { newNonce, setPageHeaders } from './headers.ts'
import { pickLang, translatorOf } from './i18n/lang.ts'
import type { PageFrame } from './layout.tsx'
import { pageContent } from './page-content.ts'
import { clearPageSession, readPageRefresh, readPageSession, writePageRefresh, writePageSession } from './session.ts'

/** A page handler's context. */
export type C = Context<AppEnv>

/** The status codes pages answer with. */
export type PageStatus = 200 | 400 | 403 | 404 | 413 | 429 | 500 | 503

/** The frame of this request's page. */
export const frameOf = (c: C): PageFrame => {
  const lang = pickLang(c.req.query('lang'), c.req.header('accept-language'))
  return { lang, t: translatorOf(pageContent().content.catalogs[lang]), here: c.req.path }
}

/** Renders `view` as a whole document with the page headers; `nonce` is the one its scripts carry. */
export const render = (c: C, services: Services, view: Child | ((nonce: string) => Child), status: PageStatus = 200): Response => {
  const nonce = newNonce(services.random)
  setPageHeaders(c, nonce)
  const body = typeof view === 'function' ? view(nonce) : view
  return c.html(`<!doctype html>${String(body)}`, status)
}

/**
 * The string fields of a page form, each cut at 1 KiB (the body itself is capped at 16 KiB). Errors:
 * INVALID_PARAM when the body cannot be read as its content type says (a multipart body without its
 * boundary or broken), before anything is done.
 */
export const formOf = async (c: C): Promise<Record<string, string>> => {
  const form = await c.req.parseBody().catch(() => {
    throw new RelayError('INVALID_PARAM', { detail: 'the form body cannot be read' })
  })
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(form)) if (typeof value === 'string') out[key] = value.slice(0, 1024)
  return out
}

/** A signed-in page session: the principal of its token and the account. */
export interface SignedIn {
  principal: Principal
  account: AccountRecord
}

/** Sets both page cookies from freshly issued tokens. */
export const keepTokens = (c: C, services: Services, tokens: IssuedTokens): void => {
  const { publicBaseUrl } = services.config.server
  writePageSession(c, publicBaseUrl, tokens.accessToken, tokens.expiresInMs / 1000)
  writePageRefresh(c, publicBaseUrl, tokens.refreshToken, services.config.auth.refreshTokenTtlSeconds)
}

/**
 * `value` for a refusal of the session (an unknown, expired or revoked token, a refused refresh); any
 * other error (a store that cannot be reached) is thrown on: the app answers it 503 and the cookies
 * stay, as the API answers a bearer request it cannot check (finding 70).
 */
const refusedAs =
  <T>(value: T) =>
  (error: unknown): T => {
    const refusal = error instanceof RelayError && error.code !== 'UNAVAILABLE' && error.code !== 'INTERNAL'
    if (refusal || error instanceof RefreshError) return value
    throw error
  }

const authenticated = async (accounts: AccountServices, token: string): Promise<SignedIn | null> => {
  const principal = await accounts.auth.sessions.authenticate(token)
  // A page session is never DPoP-bound: a bound token in the cookie is somebody else's.
  if (principal.token.jkt !== undefined) return null
  const account = await accounts.auth.accounts.get(principal.accountId)
  return account === null ? null : { principal, account }
}

/**
 * The signed-in account of the page session, or null. An expired access token is renewed once with
 * the refresh cookie (the rotation's grace answers two tabs renewing at once with the same token);
 * a session the server no longer knows clears both cookies.
 */
export const signedIn = async (c: C, services: Services, accounts: AccountServices): Promise<SignedIn | null> => {
  const { publicBaseUrl } = services.config.server
  const token = readPageSession(c, publicBaseUrl)
  let who: SignedIn | null = null
  if (token !== undefined) {
    // An expired or revoked access token is the same as none: try the refresh cookie. A store that
    // cannot be reached is no refusal: it is thrown on (503), the cookies kept (finding 70).
    who = await authenticated(accounts, token).catch(refusedAs(null))
  }
  if (who === null) {
    const refresh = readPageRefresh(c, publicBaseUrl)
    if (refresh === undefined) {
      if (token !== undefined) clearPageSession(c, publicBaseUrl)
      return null
    }
    try {
      const tokens = await accounts.auth.sessions.refresh(refresh)
      keepTokens(c, services, tokens)
      who = await authenticated(accounts, tokens.accessToken)
    } catch (error) {
      // A refused refresh (signed out elsewhere, reused, expired): the person signs in again.
      who = refusedAs(null)(error)
    }
    if (who === null) clearPageSession(c, publicBaseUrl)
  }
  if (who !== null) accounts.auth.sessions.markSeen(who.principal, c.get('clientKey'))
  return who
}
