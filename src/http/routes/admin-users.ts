/**
 * Operator account actions over HTTP under the admin token (`QRELAY_ADMIN_TOKEN`), the twin of the
 * `qrelay user` and `qrelay device` commands for runtimes without a CLI (Workers). `GET /v1/admin/users`
 * lists accounts a page at a time (`?limit=` 1–1000, `?after=` the previous page's `next_after`). Routes only
 * translate HTTP; the work is `OperatorAccounts`'.
 */
import type { Context } from 'hono'
import type { AccountRecord } from '../../core/accounts/records.ts'
import { RelayError } from '../../core/errors.ts'
import { LIST_LIMIT_MAX, type OperatorAccounts } from '../../services/operator-accounts.ts'
import type { AppEnv } from '../context.ts'
import * as v from 'valibot'
import { body, parseWith, text } from '../openapi/fields.ts'
import { NO_STORE, readOptionalJson, type RouteFn } from './account-shared.ts'
import { adminCheck } from './admin-auth.ts'

const MAX_PASSWORD_CHARS = 256

/** `POST /v1/admin/users/{name}/password`. */
export const SET_PASSWORD_BODY = body({ password: text('password', MAX_PASSWORD_CHARS) })

const MAX_CURSOR_CHARS = 512
const DEFAULT_PAGE = 100

/** `?limit=`: 1 to {@link LIST_LIMIT_MAX}, default 100. */
export const LIMIT_QUERY = v.pipe(
  v.string(),
  v.regex(/^\d{1,4}$/),
  v.check((text) => Number(text) >= 1 && Number(text) <= LIST_LIMIT_MAX),
)
/** `?after=`: the `next_after` of the previous page. */
export const AFTER_QUERY = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_CURSOR_CHARS))
/** `?since=`: the id of an event (or 0). */
export const SINCE_QUERY = v.pipe(v.string(), v.regex(/^\d{1,16}$/))

const limitOf = (text: string | undefined): number => {
  if (text === undefined) return DEFAULT_PAGE
  const limit = Number(text)
  if (!v.is(LIMIT_QUERY, text)) {
    throw new RelayError('INVALID_PARAM', { detail: `limit must be a whole number from 1 to ${LIST_LIMIT_MAX}` })
  }
  return limit
}

const summary = (account: AccountRecord) => ({
  user_id: account.username,
  status: account.status,
  two_factor: account.totp?.confirmedAtMs === undefined ? 'none' : 'totp',
  created_at_ms: account.createdAtMs,
})

/**
 * The admin account routes.
 *
 * @example
 * const admin = adminUserRoutes({ operator: services.accounts.operator, adminToken })
 * app.get('/v1/admin/users/:name', admin.show)
 */
export const adminUserRoutes = (deps: { operator: OperatorAccounts; adminToken: string }) => {
  const { operator } = deps
  const requireAdmin = adminCheck(deps.adminToken)
  const name = (c: Context<AppEnv>): string => c.req.param('name') ?? ''
  const show: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    return c.json(summary(await operator.show(name(c))), 200, NO_STORE)
  }
  const enable: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    return c.json(summary(await operator.enable(name(c))), 200, NO_STORE)
  }
  const setPassword: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    const { password } = parseWith(SET_PASSWORD_BODY, await readOptionalJson(c.req.raw))
    const signedOut = await operator.setPassword(name(c), password)
    return c.json({ user_id: name(c), devices_signed_out: signedOut }, 200, NO_STORE)
  }
  const disable: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    return c.json(summary(await operator.disable(name(c))), 200, NO_STORE)
  }
  const resetSecondFactor: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    const { account, recoveryCodesRemoved } = await operator.resetSecondFactor(name(c))
    return c.json({ ...summary(account), recovery_codes_removed: recoveryCodesRemoved }, 200, NO_STORE)
  }
  const list: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    const after = c.req.query('after')
    if (after !== undefined && !v.is(AFTER_QUERY, after)) {
      throw new RelayError('INVALID_PARAM', { detail: 'after must be the next_after of a previous page' })
    }
    const page = await operator.list(after ?? null, limitOf(c.req.query('limit')))
    return c.json({ users: page.accounts.map(summary), next_after: page.next }, 200, NO_STORE)
  }
  const devices: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    const list = await operator.devices(name(c))
    return c.json({ devices: list.map((d) => ({ device_id: d.id, display_name: d.displayName, origin: d.origin })) }, 200, NO_STORE)
  }
  const revokeDevice: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    await operator.revokeDevice(name(c), c.req.param('id') ?? '')
    return c.body(null, 204, NO_STORE)
  }
  const events: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    const sinceText = c.req.query('since') ?? '0'
    if (!v.is(SINCE_QUERY, sinceText)) throw new RelayError('INVALID_PARAM', { detail: 'since must be the id of an event (or 0)' })
    const list = await operator.events(name(c), Number(sinceText), limitOf(c.req.query('limit')))
    const json = list.map((e) => ({
      id: e.id,
      type: e.type,
      at_ms: e.atMs,
      ...(e.deviceId === undefined ? {} : { device_id: e.deviceId }),
      details: e.details ?? {},
    }))
    return c.json({ user_id: name(c), events: json, next_since: list.at(-1)?.id ?? Number(sinceText) }, 200, NO_STORE)
  }
  return { events, list, show, enable, disable, setPassword, resetSecondFactor, devices, revokeDevice }
}
