/**
 * The signed-in area in the document: password login and registration, the account, its devices,
 * its security events and QR-login approvals. Every route but login and registration needs an
 * access token (`Bearer`, or `DPoP` + proof for a DPoP-bound one); credential changes ask for
 * user-interactive auth (a 401 challenge, then the same request with `auth`).
 */
import * as v from 'valibot'
import { CHANGE_PASSWORD_BODY, CONFIRM_TOTP_BODY } from '../routes/account.ts'
import { APPROVAL_BODY } from '../routes/approvals.ts'
import { DEVICE_ID, RENAME_DEVICE_BODY } from '../routes/devices.ts'
import { EVENTS_NUMBER } from '../routes/events.ts'
import { CREATE_USER_BODY, LOGIN_BODY } from '../routes/login.ts'
import { EMPTY, errors, int, ok, opt, str, uia401 } from './common.ts'
import type { OperationSpec } from './registry.ts'

const JSON_BODY = 'application/json'
const SIGNED_IN = ['accessToken', 'dpopToken'] as const
const authed = (errorsOf: number[]) => ({ ...errors(...errorsOf), ...uia401 })
const optionalJson = (schema: v.GenericSchema) => ({ type: JSON_BODY, schema, required: false })

const DEVICE = v.looseObject({
  device_id: str(),
  display_name: str(),
  created_at_ms: int(),
  created_via: str(),
  last_seen_at_ms: int(),
  last_seen_network: opt(str()),
  current: v.boolean(),
})
const CODES = v.array(str())
const deviceParam = { id: { schema: DEVICE_ID } }

const signIn: OperationSpec[] = [
  {
    method: 'post',
    path: '/v1/login',
    tag: 'Accounts',
    summary: 'Password login (UIA: password, then TOTP or a recovery code when enrolled)',
    body: { type: JSON_BODY, schema: LOGIN_BODY, required: true },
    responses: {
      200: ok(
        v.looseObject({
          user_id: str(),
          account_id: str(),
          device_id: str(),
          access_token: str(),
          refresh_token: str(),
          expires_in_ms: int(),
          token_type: v.literal('Bearer'),
          // Absent when the account used up its new tokens for now (finding 61).
          device_trust: v.optional(str()),
        }),
      ),
      ...authed([400, 403, 429]),
    },
  },
  {
    method: 'post',
    path: '/v1/register',
    tag: 'Accounts',
    summary: 'Open registration (UIA stage m.login.dummy), when enabled',
    body: { type: JSON_BODY, schema: CREATE_USER_BODY, required: true },
    responses: { 201: ok(v.looseObject({ user_id: str(), account_id: str() }), 'Created'), ...authed([400, 403, 429]) },
  },
]

const account: OperationSpec[] = [
  ['post', '/v1/logout', 'Sign this device out', undefined, ok(EMPTY)],
  [
    'get',
    '/v1/account/whoami',
    'Who the token belongs to',
    undefined,
    ok(v.looseObject({ user_id: str(), account_id: str(), device_id: str() })),
  ],
  ['post', '/v1/account/password', 'Change the password (MSC2457; UIA)', optionalJson(CHANGE_PASSWORD_BODY), ok(EMPTY)],
  [
    'post',
    '/v1/account/totp',
    'Begin TOTP enrolment (UIA)',
    optionalJson(EMPTY),
    ok(v.looseObject({ secret: str(), uri: str(), qr_svg: str() })),
  ],
  ['delete', '/v1/account/totp', 'Turn TOTP off (UIA)', optionalJson(EMPTY), ok(EMPTY)],
  [
    'post',
    '/v1/account/totp/confirm',
    'Confirm TOTP with a first code; answers the recovery codes once',
    { type: JSON_BODY, schema: CONFIRM_TOTP_BODY, required: true },
    ok(v.looseObject({ enabled: v.literal(true), recovery_codes: CODES })),
  ],
  ['post', '/v1/account/recovery-codes', 'New recovery codes (UIA)', optionalJson(EMPTY), ok(v.looseObject({ recovery_codes: CODES }))],
].map(([method, path, summary, body, success]) => ({
  method: method as OperationSpec['method'],
  path: path as string,
  tag: 'Accounts',
  summary: summary as string,
  security: SIGNED_IN,
  ...(body === undefined ? {} : { body: body as OperationSpec['body'] }),
  responses: { 200: success as OperationSpec['responses'][number], ...authed([400, 403, 429]) },
}))

const devices: OperationSpec[] = [
  {
    method: 'get',
    path: '/v1/devices',
    tag: 'Devices',
    summary: "The account's devices",
    security: SIGNED_IN,
    responses: { 200: ok(v.looseObject({ devices: v.array(DEVICE) })), ...authed([400, 403, 429]) },
  },
  {
    method: 'patch',
    path: '/v1/devices/:id',
    tag: 'Devices',
    summary: 'Rename a device (another device: UIA when this one last authenticated too long ago)',
    security: SIGNED_IN,
    params: deviceParam,
    body: { type: JSON_BODY, schema: RENAME_DEVICE_BODY, required: true },
    responses: { 200: ok(EMPTY), ...authed([400, 403, 404, 429]) },
  },
  {
    method: 'delete',
    path: '/v1/devices/:id',
    tag: 'Devices',
    summary: 'Sign a device out (UIA)',
    security: SIGNED_IN,
    params: deviceParam,
    body: optionalJson(EMPTY),
    responses: { 200: ok(EMPTY), ...authed([400, 403, 404, 429]) },
  },
  {
    method: 'post',
    path: '/v1/devices/:id/not-me',
    tag: 'Devices',
    summary: '"Was this you?" No: sign it out everywhere and deny its network',
    security: SIGNED_IN,
    params: { id: { schema: str() } },
    body: optionalJson(EMPTY),
    responses: {
      200: ok(
        v.looseObject({
          revoked_device_ids: CODES,
          network_denied_for_seconds: int(),
          network_deny_scope: v.picklist(['account', 'global', 'none']),
          network_kept_because: opt(str()),
        }),
      ),
      ...authed([400, 403, 404, 409, 429]),
    },
  },
  {
    method: 'get',
    path: '/v1/events',
    tag: 'Devices',
    summary: "The account's security events after a cursor (long poll up to 30 s)",
    security: SIGNED_IN,
    query: {
      since: { schema: EVENTS_NUMBER, description: 'The last event id seen (default 0)' },
      timeout_ms: { schema: EVENTS_NUMBER, description: 'How long to wait when there is none (at most 30 000)' },
    },
    responses: {
      200: ok(
        v.looseObject({
          events: v.array(v.looseObject({ id: int(), type: str(), at: str(), device_id: opt(str()), details: opt(EMPTY) })),
          next_since: int(),
        }),
      ),
      ...authed([400, 403, 429]),
    },
  },
]

const approvals: OperationSpec[] = [
  {
    method: 'get',
    path: '/v1/approvals/:user_code',
    tag: 'Approvals',
    summary: 'What the person must see before approving a QR login',
    security: SIGNED_IN,
    params: { user_code: { schema: str() } },
    responses: {
      200: ok(
        v.looseObject({
          action: v.literal('sign_in_another_device'),
          message: str(),
          requested_device_name: v.nullable(str()),
          started_at: str(),
          expires_in: int(),
          new_device_networks: v.array(v.looseObject({ seen_at: str(), network: str() })),
          proximity: EMPTY,
        }),
      ),
      ...authed([400, 403, 404, 429]),
    },
  },
  {
    method: 'post',
    path: '/v1/approvals/:user_code',
    tag: 'Approvals',
    summary: 'Approve or decline a QR login (the policy may step up with UIA, or deny)',
    security: SIGNED_IN,
    params: { user_code: { schema: str() } },
    body: { type: JSON_BODY, schema: APPROVAL_BODY, required: true },
    responses: {
      200: ok(v.looseObject({ status: str(), verification_code: opt(str()), message: opt(str()) })),
      ...authed([400, 403, 404, 409, 429]),
    },
  },
]

/** The signed-in area's operations. */
export const ACCOUNT_OPS: readonly OperationSpec[] = [...signIn, ...account, ...devices, ...approvals]
