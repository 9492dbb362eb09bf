/**
 * The channel-ticket signing keys over HTTP, under the admin token: the twin of `qrelay keys` for
 * runtimes without a CLI (Workers). `GET /v1/admin/keys` lists them, `POST /v1/admin/keys/rotate`
 * makes a new active key (the old one stays at `/oauth2/jwks`), `POST /v1/admin/keys/:kid/retire`
 * takes a rotated-out key off the JWKS (403 for the active key, 404 for an unknown kid). The work is
 * `OperatorKeys`'.
 *
 * @see ../../services/operator-keys.ts
 * @see https://www.rfc-editor.org/rfc/rfc7517 (JWK Set)
 */
import * as v from 'valibot'
import { RelayError } from '../../core/errors.ts'
import type { OperatorKeys, SigningKeyInfo } from '../../services/operator-keys.ts'
import type { AppEnv } from '../context.ts'
import { NO_STORE, type RouteFn } from './account-shared.ts'
import { adminCheck } from './admin-auth.ts'

/** A key id as the keyring makes them (base64url thumbprints) or as operators name them. */
export const KID = v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,128}$/))

const keyJson = (key: SigningKeyInfo) => ({
  kid: key.kid,
  alg: key.alg,
  state: key.state,
  created_at_ms: key.createdAtMs,
  ...(key.retiredAtMs === undefined ? {} : { retired_at_ms: key.retiredAtMs }),
  ...(key.publishedUntilMs === undefined ? {} : { published_until_ms: key.publishedUntilMs }),
})

/**
 * The admin key routes.
 *
 * @example
 * const r = adminKeyRoutes({ keys: services.keys, adminToken })
 * app.post('/v1/admin/keys/rotate', r.rotate)
 */
export const adminKeyRoutes = (deps: { keys: OperatorKeys; adminToken: string }) => {
  const { keys } = deps
  const requireAdmin = adminCheck(deps.adminToken)
  const list: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    return c.json({ store: keys.storeKind, keys: (await keys.list()).map(keyJson) }, 200, NO_STORE)
  }
  const rotate: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    const { active, previous } = await keys.rotate()
    c.get('log').warn({ active: active.kid, previous: previous.kid }, 'signing key rotated by the operator')
    return c.json({ active: keyJson(active), previous: keyJson(previous) }, 200, NO_STORE)
  }
  const retire: RouteFn<AppEnv> = async (c) => {
    requireAdmin(c)
    const kid = c.req.param('kid') ?? ''
    if (!v.is(KID, kid)) throw new RelayError('INVALID_PARAM', { detail: 'kid is not a key id' })
    const retired = await keys.retire(kid)
    c.get('log').warn({ kid }, 'signing key retired by the operator')
    return c.json({ retired: keyJson(retired) }, 200, NO_STORE)
  }
  return { list, rotate, retire }
}
