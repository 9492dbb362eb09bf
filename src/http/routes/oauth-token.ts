/**
 * `POST /oauth2/token`: the refresh-token grant (RFC 6749 §6), form-encoded, with OAuth error bodies
 * (§5.2). Refresh tokens rotate; presenting a rotated-out one revokes its whole family (RFC 9700).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
import { RefreshError, type SessionsService } from '../../services/sessions.ts'
import { oauthError, readOAuthForm } from './oauth-form.ts'
import type { AppEnv } from '../context.ts'
import { NO_STORE, type RouteFn } from './account-shared.ts'

/** RFC 6749 §5.2 error codes used here. */
export type OAuthErrorCode = 'invalid_request' | 'invalid_grant' | 'unsupported_grant_type'


const DESCRIPTIONS: Record<RefreshError['outcome'], string> = {
  malformed: 'malformed refresh token',
  rotated: 'refresh refused',
  raced: 'this refresh token was just rotated by a concurrent request',
  reused: 'this refresh token was already used: the session is revoked',
  revoked: 'the session is revoked',
  denied: 'the account or device may not be given tokens',
  missing: 'unknown or expired refresh token',
}

/**
 * Builds the handler.
 *
 * @example
 * app.post('/oauth2/token', oauthTokenRoute(sessions))
 */
export const oauthTokenRoute = (sessions: SessionsService): RouteFn<AppEnv> =>
  async function oauthToken(c) {
    const form = await readOAuthForm(c)
    if (form instanceof Response) return form
    const grantType = form.get('grant_type')
    if (grantType === null) return oauthError(c, 'invalid_request', 'grant_type is required')
    if (grantType !== 'refresh_token') return oauthError(c, 'unsupported_grant_type', 'only refresh_token is supported here')
    const refreshToken = form.get('refresh_token')
    if (refreshToken === null || refreshToken === '') return oauthError(c, 'invalid_request', 'refresh_token is required')
    try {
      const tokens = await sessions.refresh(refreshToken)
      return c.json(
        {
          access_token: tokens.accessToken,
          token_type: 'Bearer',
          expires_in: Math.floor(tokens.expiresInMs / 1000),
          refresh_token: tokens.refreshToken,
        },
        200,
        NO_STORE,
      )
    } catch (error) {
      if (error instanceof RefreshError) return oauthError(c, 'invalid_grant', DESCRIPTIONS[error.outcome])
      throw error
    }
  }
