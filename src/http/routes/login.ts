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
import { prefixLimits } from '../../services/prefix-limits.ts'
import type { WiderShares } from '../../core/policy/ipv6-prefixes.ts'
import type { IssuedTokens, SessionsService } from '../../services/sessions.ts'
import type { UiaService } from '../../services/uia.ts'
import type { AppEnv } from '../context.ts'
import { bearerOf } from '../middleware/bearer-auth.ts'
import * as v from 'valibot'
import { body as jsonBody, optionalText, parseWith, text } from '../openapi/fields.ts'
import { NO_STORE, readOptionalJson, uiaRequestOf, withUia, type RouteFn } from './account-shared.ts'

/** What the login routes need. */
export interface LoginRoutesDeps {
  accounts: AccountsService
  sessions: SessionsService
  uia: UiaService
  limiter: RateLimiter
  trust: DeviceTrust
  auth: Config['auth']
  /** How many /64 budgets an IPv6 /56 and /48 get in all (registration and its check). */
  shares: WiderShares
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

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** A login naming the user by `username`. */
const USERNAME_LOGIN = jsonBody({ username: text('username', 255) })
/** A login naming the user by a Matrix `identifier` of type `m.id.user`. */
const IDENTIFIER_LOGIN = jsonBody({
  identifier: v.pipe(
    v.custom<Record<string, unknown>>(isObject, 'identifier must be an object'),
    v.check((id) => id.type === 'm.id.user', 'identifier.type must be m.id.user'),
    jsonBody({ type: v.literal('m.id.user'), user: text('user', 255) }),
  ),
})
const LOGIN_OPTIONS = jsonBody({
  initial_device_display_name: optionalText('initial_device_display_name', 100),
  device_trust: optionalText('device_trust', MAX_DEVICE_TRUST_CHARS),
})
/** `POST /v1/login` (`auth` for UIA): who (checked first), then the options. */
export const LOGIN_BODY = v.intersect([v.union([USERNAME_LOGIN, IDENTIFIER_LOGIN]), LOGIN_OPTIONS])
/** `POST /v1/register` and `POST /v1/admin/users`. */
export const CREATE_USER_BODY = jsonBody({ username: text('username', 64), password: text('password', MAX_PASSWORD_CHARS) })

/** The username of a login body: `username`, or a Matrix `identifier` of type `m.id.user`. */
const usernameOf = (body: Record<string, unknown>): string =>
  body.identifier === undefined ? parseWith(USERNAME_LOGIN, body).username : parseWith(IDENTIFIER_LOGIN, body).identifier.user

/**
 * Builds the handlers.
 *
 * @example
 * const r = loginRoutes({ accounts, sessions, uia, limiter, trust, auth: config.auth, shares: config.rateLimit })
 * app.post('/v1/login', r.login)
 */
export const loginRoutes = (deps: LoginRoutesDeps) => {
  const { accounts, sessions, uia } = deps
  const prefixes = prefixLimits(deps.limiter, deps.shares)

  const login: RouteFn<AppEnv> = withUia(async (c) => {
    const body = await readOptionalJson(c.req.raw)
    const username = usernameOf(body)
    const options = parseWith(LOGIN_OPTIONS, body)
    const displayName = options.initial_device_display_name ?? DEFAULT_DEVICE_NAME
    // The token of an earlier sign-in on this client: its guesses use a budget of their own.
    const presented = options.device_trust
    const extra = presented === undefined ? {} : { deviceTrust: presented }
    const account = await uia.authorize(uiaRequestOf(c, body, extra), { kind: 'username', username })
    if (account === null) throw new RelayError('INTERNAL', { detail: 'login completed without an account' })
    const tokens = await sessions.signIn(account, { displayName, origin: 'password', network: c.get('clientKey') })
    const deviceTrust = await deps.trust.issue(account, presented)
    return c.json({ ...tokensBody(account.username, tokens), device_trust: deviceTrust }, 200, NO_STORE)
  })

  const created = (c: Context<AppEnv>, account: { id: string; username: string }): Response =>
    c.json({ user_id: account.username, account_id: account.id }, 201, NO_STORE)

  const register: RouteFn<AppEnv> = withUia(async (c) => {
    const body = await readOptionalJson(c.req.raw)
    const { username, password } = parseWith(CREATE_USER_BODY, body)
    accounts.assertCreatable(username, password)
    // Whether a name is taken is an answer about an account: one address gets a bounded number of them.
    // IPv6: the client's /56 and /48 too, else one /48 would ask 65 536 times as often (finding 48).
    const clientKey = c.get('clientKey')
    await prefixes.consume('register-check', clientKey, deps.auth.registerChecksPerClient)
    if ((await accounts.findByUsername(username)) !== null) throw new RelayError('USER_IN_USE', { detail: 'this username is taken' })
    await uia.authorize(uiaRequestOf(c, body), { kind: 'anyone' })
    await deps.limiter.consume(`register:${clientKey}`, deps.auth.registerPerClient)
    const rule = deps.auth.registerPerClient
    return created(
      c,
      await prefixes.within(
        'register',
        clientKey,
        rule,
        () => accounts.create(username, password),
        () => true,
      ),
    )
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
    const { username, password } = parseWith(CREATE_USER_BODY, await readOptionalJson(c.req.raw))
    return created(c, await accounts.create(username, password))
  }

  return { login, register, adminCreateUser }
}
