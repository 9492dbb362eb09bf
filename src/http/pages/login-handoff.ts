/**
 * `POST /login/session`: the `/login` page hands its fresh QR-login session over to the page cookies
 * (docs/pages.md, "The page session"). The request carries `Authorization: DPoP <access token>` and
 * a proof by the page's non-extractable key for this very request, checked by the API's own
 * `bearerAuth` (token hash, `ath`, key binding, `jti` spent once). A token bound to no key is refused.
 * The bound family is revoked and unbound tokens of the same device go into the HttpOnly cookies:
 * afterwards no script holds any token. Only from this origin; the body is capped like every page POST.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
import type { Hono } from 'hono'
import { RelayError } from '../../core/errors.ts'
import type { AccountServices, Services } from '../../services/services.ts'
import type { AppEnv } from '../context.ts'
import { type AuthedEnv, bearerAuth } from '../middleware/bearer-auth.ts'
import { keepTokens } from './page-context.ts'
import { sameOriginPost } from './session.ts'

/** The path the `/login` script posts its session to. */
export const LOGIN_SESSION_PATH = '/login/session'

/**
 * Mounts `POST /login/session`.
 *
 * @example
 * mountLoginHandoff(app, services, services.accounts)
 */
export const mountLoginHandoff = (app: Hono<AppEnv>, services: Services, accounts: AccountServices): void => {
  const publicBaseUrl = services.config.server.publicBaseUrl
  const authed = app as unknown as Hono<AuthedEnv>
  authed.post(
    LOGIN_SESSION_PATH,
    async (c, next) => {
      // Checked before the token is looked at: a cross-origin request spends no proof.
      if (!sameOriginPost(c, publicBaseUrl)) throw new RelayError('FORBIDDEN', { detail: 'a page request must come from this origin' })
      await next()
    },
    bearerAuth(accounts.auth.sessions, { proofs: accounts.dpop, publicBaseUrl }),
    async (c) => {
      // The service refuses a token bound to no key (INVALID_TOKEN) before it revokes anything.
      const tokens = await accounts.auth.pageHandoff(c.get('principal'))
      keepTokens(c as never, services, tokens)
      return c.body(null, 204)
    },
  )
}
