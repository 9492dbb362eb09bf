/**
 * The operator's view of the abuse guard, with the admin token (`Authorization: Bearer <QRELAY_ADMIN_TOKEN>`):
 * `GET /v1/admin/abuse?network=<address or network key>` → `{ network, denied_for_seconds }`, and
 * `POST /v1/admin/abuse/lift` `{ network }` → lifts every block of it (automatic, "not me", per
 * account) and answers `{ network, was_denied_for_seconds }`; `GET /v1/admin/abuse/blocks` →
 * `{ blocks: [{ network, reason, denied_for_seconds }] }`, every source denied for everybody now.
 *
 * @see ../../services/abuse-guard.ts
 */
import { RelayError } from '../../core/errors.ts'
import type { AbuseBlocks } from '../../services/abuse-blocks.ts'
import { sourceKeyOf, type AbuseGuard } from '../../services/abuse-guard.ts'
import type { AppEnv } from '../context.ts'
import * as v from 'valibot'
import { body, parseWith, text } from '../openapi/fields.ts'
import { NO_STORE, readOptionalJson, type RouteFn } from './account-shared.ts'
import { adminCheck } from './admin-auth.ts'

/** An address, a network key (`2001:db8::/64`) or an ASN source (`asn:64500`). */
export const NETWORK = v.pipe(v.string(), v.regex(/^(asn:\d{1,10}|[0-9A-Fa-f:.]{2,45}(\/\d{1,3})?)$/))

/** `POST /v1/admin/abuse/lift`. */
export const LIFT_BODY = body({ network: text('network', 64) })

const networkOf = (text: string | undefined): string => {
  if (text === undefined || !v.is(NETWORK, text))
    throw new RelayError('INVALID_PARAM', { detail: 'network must be an address, a network key or asn:<number>' })
  return sourceKeyOf(text)
}

/**
 * Builds the handlers.
 *
 * @example
 * const r = abuseAdminRoutes({ abuse, adminToken: config.auth.adminToken })
 * app.post('/v1/admin/abuse/lift', r.lift)
 */
export const abuseAdminRoutes = (deps: { abuse: AbuseGuard; blocks?: AbuseBlocks; adminToken: string | undefined }) => {
  const requireAdmin = adminCheck(deps.adminToken)

  const blocks: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    const list = deps.blocks === undefined ? [] : await deps.blocks.list()
    const json = list.map((b) => ({ network: b.network, reason: b.reason, denied_for_seconds: Math.ceil(b.deniedForMs / 1000) }))
    return c.json({ blocks: json }, 200, NO_STORE)
  }

  const status: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    const network = networkOf(c.req.query('network'))
    const ms = await deps.abuse.deniedForMs(network)
    return c.json({ network, denied_for_seconds: Math.ceil(ms / 1000) }, 200, NO_STORE)
  }

  const lift: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    const network = networkOf(parseWith(LIFT_BODY, await readOptionalJson(c.req.raw)).network)
    const was = await deps.abuse.lift(network)
    c.get('log').warn({ network, wasDeniedForSeconds: Math.ceil(was / 1000) }, 'abuse block lifted')
    return c.json({ network, was_denied_for_seconds: Math.ceil(was / 1000) }, 200, NO_STORE)
  }

  return { status, lift, blocks }
}
