/**
 * The operator's endpoints in the document, all under the admin token (`QRELAY_ADMIN_TOKEN`, mounted
 * only when it is set): accounts, signing keys and the abuse guard.
 */
import * as v from 'valibot'
import { LIFT_BODY, NETWORK } from '../routes/abuse-admin.ts'
import { KID } from '../routes/admin-keys.ts'
import { AFTER_QUERY, LIMIT_QUERY, SET_PASSWORD_BODY, SINCE_QUERY } from '../routes/admin-users.ts'
import { CREATE_USER_BODY } from '../routes/login.ts'
import { EMPTY, errors, int, ok, str } from './common.ts'
import type { OperationSpec, ParamSpec, ResponseSpec } from './registry.ts'

const USER = v.looseObject({ user_id: str(), status: str(), two_factor: v.picklist(['none', 'totp']), created_at_ms: int() })
const KEY = v.looseObject({ kid: str(), alg: str(), state: str(), created_at_ms: int() })
const name = { name: { schema: str(), description: 'The username' } }
const limit = { limit: { schema: LIMIT_QUERY, description: '1 to 1000 (default 100)' } }

const admin = (
  method: OperationSpec['method'],
  path: string,
  summary: string,
  success: Record<number, ResponseSpec>,
  extra: { params?: Record<string, ParamSpec>; query?: Record<string, ParamSpec>; body?: v.GenericSchema; errors?: number[] } = {},
): OperationSpec => ({
  method,
  path,
  tag: 'Admin',
  summary,
  security: ['adminToken'],
  ...(extra.params === undefined ? {} : { params: extra.params }),
  ...(extra.query === undefined ? {} : { query: extra.query }),
  ...(extra.body === undefined ? {} : { body: { type: 'application/json', schema: extra.body, required: true } }),
  responses: { ...success, ...errors(400, 401, ...(extra.errors ?? [])) },
})

/** The admin operations. */
export const ADMIN_OPS: readonly OperationSpec[] = [
  admin(
    'post',
    '/v1/admin/users',
    'Create an account',
    { 201: ok(v.looseObject({ user_id: str(), account_id: str() }), 'Created') },
    {
      body: CREATE_USER_BODY,
    },
  ),
  admin(
    'get',
    '/v1/admin/users',
    'List accounts, a page at a time',
    { 200: ok(v.looseObject({ users: v.array(USER), next_after: v.nullable(str()) })) },
    {
      query: { after: { schema: AFTER_QUERY, description: 'The `next_after` of the previous page' }, ...limit },
    },
  ),
  admin('get', '/v1/admin/users/:name', 'Show an account', { 200: ok(USER) }, { params: name, errors: [404] }),
  admin('post', '/v1/admin/users/:name/disable', 'Disable an account', { 200: ok(USER) }, { params: name, errors: [404] }),
  admin('post', '/v1/admin/users/:name/enable', 'Enable an account', { 200: ok(USER) }, { params: name, errors: [404] }),
  admin(
    'post',
    '/v1/admin/users/:name/password',
    'Set a password (signs every device out)',
    {
      200: ok(v.looseObject({ user_id: str(), devices_signed_out: int() })),
    },
    { params: name, body: SET_PASSWORD_BODY, errors: [404] },
  ),
  admin(
    'post',
    '/v1/admin/users/:name/reset-2fa',
    'Remove TOTP and recovery codes',
    {
      200: ok(v.looseObject({ user_id: str(), recovery_codes_removed: int() })),
    },
    { params: name, errors: [404] },
  ),
  admin(
    'get',
    '/v1/admin/users/:name/devices',
    "An account's devices",
    {
      200: ok(v.looseObject({ devices: v.array(v.looseObject({ device_id: str(), display_name: str(), origin: str() })) })),
    },
    { params: name, errors: [404] },
  ),
  admin(
    'get',
    '/v1/admin/users/:name/events',
    "An account's security events",
    {
      200: ok(
        v.looseObject({
          user_id: str(),
          events: v.array(v.looseObject({ id: int(), type: str(), at_ms: int(), details: EMPTY })),
          next_since: int(),
        }),
      ),
    },
    { params: name, query: { since: { schema: SINCE_QUERY }, ...limit }, errors: [404] },
  ),
  admin(
    'delete',
    '/v1/admin/users/:name/devices/:id',
    'Sign one device out',
    { 204: { description: 'Signed out' } },
    {
      params: { ...name, id: { schema: str() } },
      errors: [404],
    },
  ),
  admin('get', '/v1/admin/keys', 'The channel-ticket signing keys', { 200: ok(v.looseObject({ store: str(), keys: v.array(KEY) })) }),
  admin('post', '/v1/admin/keys/rotate', 'Make a new active key', { 200: ok(v.looseObject({ active: KEY, previous: KEY })) }),
  admin(
    'post',
    '/v1/admin/keys/:kid/retire',
    'Take a rotated-out key off the JWKS',
    { 200: ok(v.looseObject({ retired: KEY })) },
    {
      params: { kid: { schema: KID } },
      errors: [403, 404],
    },
  ),
  admin('get', '/v1/admin/abuse/blocks', 'Every source denied for everybody now', {
    200: ok(v.looseObject({ blocks: v.array(v.looseObject({ network: str(), reason: str(), denied_for_seconds: int() })) })),
  }),
  admin(
    'post',
    '/v1/admin/abuse/lift',
    'Lift every block of a network',
    {
      200: ok(v.looseObject({ network: str(), was_denied_for_seconds: int() })),
    },
    { body: LIFT_BODY },
  ),
  admin(
    'get',
    '/v1/admin/abuse',
    "A network's block",
    { 200: ok(v.looseObject({ network: str(), denied_for_seconds: int() })) },
    {
      query: { network: { schema: NETWORK, required: true, description: 'An address, a network key or asn:<number>' } },
    },
  ),
]
