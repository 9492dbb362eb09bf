/**
 * Account creation and password login: `POST /v1/login` (UIA: password, then TOTP or a recovery code
 * when enrolled; mints a device session and returns a `device_trust` token for the next sign-in, see
 * `services/device-trust.ts`), `POST /v1/register` (open registration, when enabled; UIA dummy stage)
 * and `POST /v1/admin/users` (operator, with the admin token).
 *
 * @see https://spec.matrix.org/v1.16/client-server-api/#login
 */
import type { Context } from 'hono'
import type { Config } from '../../config.ts'
import { equalConstantTime } from '../../core/crypto/secrets.ts'
import { RelayError } from '../../core/errors.ts'
import type { AccountsService } from '../../services/accounts.ts'
import { MAX_DEVICE_TRUST_CHARS, type DeviceTrust } from '../../services/device-trust.ts'
import type { RateLimiter } from '../../services/rate-limiter.ts'
import type { IssuedTokens, SessionsService } from '../../services/sessions.ts'
import type { UiaService } from '../../services/uia.ts'
import type { AppEnv } from '../context.ts'
import { bearerOf } from '../middleware/bearer-auth.ts'
import { NO_STORE, optionalString, readOptionalJson, requiredString, uiaRequestOf, withUia, type RouteFn } from './account-shared.ts'

/** What the login routes need. */
export interface LoginRoutesDeps {
  accounts: AccountsService
  sessions: SessionsService
  uia: UiaService
  limiter: RateLimiter
  trust: DeviceTrust
  auth: Config['auth']
}

const MAX_PASSWORD_CHARS = 1024
const DEFAULT_DEVICE_NAME = 'Unnamed device'

/** The Matrix-style login response body. */
export const tokensBody = (username: string, tokens: IssuedTokens): Record<string, unknown> => ({
  user_id: username,
  account_id: tokens.accountId,
  device_id: tokens.deviceId,
  access_token: tokens.accessToken,
  refresh_token: tokens.refreshToken,
  expires_in_ms: tokens.expiresInMs,
  token_type: 'Bearer',
})

/** The username of a login body: `username`, or a Matrix `identifier` of type `m.id.user`. */
const usernameOf = (body: Record<string, unknown>): string => {
  const identifier = body.identifier
  if (identifier !== undefined) {
    if (typeof identifier !== 'object' || identifier === null || Array.isArray(identifier)) {
      throw new RelayError('INVALID_PARAM', { detail: 'identifier must be an object' })
    }
    const id = identifier as Record<string, unknown>
    if (id.type !== 'm.id.user') throw new RelayError('INVALID_PARAM', { detail: 'identifier.type must be m.id.user' })
    return requiredString(id, 'user', 255)
  }
  return requiredString(body, 'username', 255)
}

/**
 * Builds the handlers.
 *
 * @example
 * const r = loginRoutes({ accounts, sessions, uia, limiter, trust, auth: config.auth })
 * app.post('/v1/login', r.login)
 */
export const loginRoutes = (deps: LoginRoutesDeps) => {
  const { accounts, sessions, uia } = deps

  const login: RouteFn<AppEnv> = withUia(async (c) => {
    const body = await readOptionalJson(c.req.raw)
    const username = usernameOf(body)
    const displayName = optionalString(body, 'initial_device_display_name', 100) ?? DEFAULT_DEVICE_NAME
    // The token of an earlier sign-in on this client: its guesses use a budget of their own.
    const presented = optionalString(body, 'device_trust', MAX_DEVICE_TRUST_CHARS)
    const extra = presented === undefined ? {} : { deviceTrust: presented }
    const account = await uia.authorize(uiaRequestOf(c, body, extra), { kind: 'username', username })
    if (account === null) throw new RelayError('INTERNAL', { detail: 'login completed without an account' })
    const tokens = await sessions.mint(account, { displayName, origin: 'password', network: c.get('clientKey') })
    const deviceTrust = await deps.trust.issue(account.id, presented)
    return c.json({ ...tokensBody(account.username, tokens), device_trust: deviceTrust }, 200, NO_STORE)
  })

  const created = (c: Context<AppEnv>, account: { id: string; username: string }): Response =>
    c.json({ user_id: account.username, account_id: account.id }, 201, NO_STORE)

  const register: RouteFn<AppEnv> = withUia(async (c) => {
    const body = await readOptionalJson(c.req.raw)
    const username = requiredString(body, 'username', 64)
    const password = requiredString(body, 'password', MAX_PASSWORD_CHARS)
    accounts.assertCreatable(username, password)
    if ((await accounts.findByUsername(username)) !== null) throw new RelayError('USER_IN_USE', { detail: 'this username is taken' })
    await uia.authorize(uiaRequestOf(c, body), { kind: 'anyone' })
    await deps.limiter.consume(`register:${c.get('clientKey')}`, deps.auth.registerPerClient)
    return created(c, await accounts.create(username, password))
  })

  const requireAdmin = (c: Context<AppEnv>): void => {
    const expected = deps.auth.adminToken
    const presented = bearerOf(c.req.header('authorization'))
    if (presented === undefined) throw new RelayError('MISSING_TOKEN', { detail: 'the admin token is required' })
    if (expected === undefined || !equalConstantTime(presented, expected)) {
      throw new RelayError('INVALID_TOKEN', { detail: 'wrong admin token' })
    }
  }

  const adminCreateUser: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    const body = await readOptionalJson(c.req.raw)
    const username = requiredString(body, 'username', 64)
    const password = requiredString(body, 'password', MAX_PASSWORD_CHARS)
    return created(c, await accounts.create(username, password))
  }

  const adminDisableUser: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    const account = await accounts.disable(c.req.param('name') ?? '')
    return c.json({ user_id: account.username, status: account.status }, 200, NO_STORE)
  }

  return { login, register, adminCreateUser, adminDisableUser }
}
