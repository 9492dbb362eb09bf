/**
 * The OAuth endpoints (RFC 8628 device flow with DPoP, RFC 6749 refresh, RFC 7009 revocation,
 * RFC 7662 introspection), request-initiation verification, and discovery: health, metrics, Matrix
 * `/versions`, the JWKS and the RFC 8414 metadata. The form bodies are the routes' own schemas, except
 * request-initiation verification's, described here (its route reads its two fields by hand).
 */
import * as v from 'valibot'
import { DEVICE_AUTHORIZATION_FORM } from '../routes/device-authorization.ts'
import { DEVICE_VERIFICATION_FORM, DEVICE_VERIFICATION_PATH } from '../routes/device-verification.ts'
import { TOKEN_FORM } from '../routes/oauth-inspection.ts'
import { TOKEN_REQUEST_FORM } from '../routes/oauth-token.ts'
import { EMPTY, errors, int, oauthErrors, ok, opt, str } from './common.ts'
import type { HeaderName, OperationSpec, ResponseSpec } from './registry.ts'

const FORM = 'application/x-www-form-urlencoded'
const dpopHeader = { DPoP: { schema: str(), description: 'A DPoP proof (RFC 9449) for this endpoint' } }

const TOKENS = v.looseObject({
  access_token: str(),
  token_type: v.picklist(['Bearer', 'DPoP']),
  expires_in: int(),
  refresh_token: str(),
  scope: opt(str()),
  device_id: str(),
})

/** A long poll's answers (errors included) say which `Prefer` the server honoured. */
const withPreferenceApplied = (responses: Record<number, ResponseSpec>): Record<number, ResponseSpec> =>
  Object.fromEntries(
    Object.entries(responses).map(([status, r]) => [
      status,
      { ...r, headers: [...(r.headers ?? []), 'Preference-Applied'] as HeaderName[] },
    ]),
  )

const oauth: OperationSpec[] = [
  {
    method: 'post',
    path: '/oauth2/token',
    tag: 'OAuth',
    summary: 'Poll a device grant, or rotate a refresh token',
    description:
      '`grant_type` `urn:ietf:params:oauth:grant-type:device_code` with `device_code`, or `refresh_token` with `refresh_token`. `slow_down` adds `interval`. A DPoP-bound grant or refresh token needs a proof by its key. A device-code poll with `Prefer: wait=N` is a long poll (see the header).',
    headers: {
      ...dpopHeader,
      Prefer: {
        schema: str(),
        description:
          'A device-code poll only: `wait=N` (RFC 7240, N ≤ 30 s) holds an `authorization_pending` answer until the grant is decided, at most N s and never past its `interval` (a long poll). Other preferences are ignored.',
      },
    },
    body: {
      type: FORM,
      required: true,
      schema: TOKEN_REQUEST_FORM,
    },
    responses: {
      200: ok(TOKENS, 'Tokens', ['DPoP-Nonce', 'Preference-Applied']),
      ...withPreferenceApplied(oauthErrors(400, 401, 403, 429)),
    },
  },
  {
    method: 'post',
    path: '/oauth2/revoke',
    tag: 'OAuth',
    summary: 'Revoke a token (RFC 7009), signing its device out (MSC4254); 200 whether known or not',
    headers: dpopHeader,
    body: {
      type: FORM,
      required: true,
      schema: TOKEN_FORM,
    },
    responses: { 200: { description: 'Revoked (or unknown)' }, ...oauthErrors(400, 401, 429) },
  },
  {
    method: 'post',
    path: '/oauth2/introspect',
    tag: 'OAuth',
    summary: 'Introspect a token (RFC 7662)',
    security: ['introspectionClient'],
    body: {
      type: FORM,
      required: true,
      schema: TOKEN_FORM,
    },
    responses: {
      200: ok(
        v.looseObject({
          active: v.boolean(),
          sub: opt(str()),
          username: opt(str()),
          device_id: opt(str()),
          exp: opt(int()),
          cnf: opt(v.looseObject({ jkt: str() })),
        }),
      ),
      ...oauthErrors(400, 401, 429),
    },
  },
  {
    method: 'post',
    path: '/oauth2/device_authorization',
    tag: 'OAuth',
    summary: 'Start a device grant bound to the channel and a DPoP key',
    description: 'Name the key with a `DPoP` proof or a `dpop_jkt` parameter (both: the same key).',
    headers: dpopHeader,
    body: {
      type: FORM,
      required: true,
      schema: DEVICE_AUTHORIZATION_FORM,
    },
    responses: {
      200: ok(
        v.looseObject({
          device_code: str(),
          user_code: str(),
          verification_uri: str(),
          verification_uri_complete: str(),
          expires_in: int(),
          interval: int(),
        }),
        'The grant',
        ['DPoP-Nonce'],
      ),
      ...oauthErrors(400, 401, 403, 429),
    },
  },
  {
    method: 'post',
    path: DEVICE_VERIFICATION_PATH,
    tag: 'OAuth',
    summary: 'Type the code the approver was shown (request-initiation verification)',
    headers: dpopHeader,
    body: {
      type: FORM,
      required: true,
      schema: DEVICE_VERIFICATION_FORM,
    },
    responses: { 200: ok(v.looseObject({ status: v.literal('verified') })), ...oauthErrors(400, 401, 429) },
  },
]

const cacheable = ['Access-Control-Allow-Origin'] as const

const discovery: OperationSpec[] = [
  {
    method: 'get',
    path: '/healthz',
    tag: 'Operations',
    summary: 'Liveness',
    responses: { 200: ok(v.looseObject({ status: v.literal('ok') })) },
  },
  {
    method: 'get',
    path: '/readyz',
    tag: 'Operations',
    summary: 'Readiness: 200 only when the store answers within 1 s',
    responses: {
      200: ok(v.looseObject({ status: v.literal('ready'), store: str() })),
      503: ok(v.looseObject({ status: v.picklist(['unavailable', 'shutting_down']), store: opt(str()) }), 'Not ready'),
    },
  },
  {
    method: 'get',
    path: '/metrics',
    tag: 'Operations',
    summary: 'Prometheus metrics (Node, when enabled)',
    security: ['metricsToken'],
    securityOptional: true,
    responses: { 200: { description: 'Prometheus text format', type: 'text/plain', schema: str() }, ...errors(401) },
  },
  {
    method: 'get',
    path: '/_matrix/client/versions',
    tag: 'Discovery',
    summary: 'Matrix versions, advertising the enabled rendezvous MSCs',
    responses: {
      200: ok(
        v.looseObject({
          versions: v.array(str()),
          unstable_features: v.looseObject({ 'org.matrix.msc4108': v.boolean(), 'io.element.msc4388': v.boolean() }),
        }),
        'OK',
        cacheable,
      ),
    },
  },
  {
    method: 'get',
    path: '/oauth2/jwks',
    tag: 'Discovery',
    summary: 'The keys that verify channel tickets (JWK Set)',
    responses: { 200: ok(v.looseObject({ keys: v.array(v.looseObject({ kty: str() })) }), 'OK', cacheable) },
  },
  {
    method: 'get',
    path: '/.well-known/oauth-authorization-server',
    tag: 'Discovery',
    summary: 'OAuth authorization server metadata (RFC 8414)',
    responses: {
      200: ok(v.looseObject({ issuer: str(), grant_types_supported: v.array(str()) }), 'OK', cacheable),
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    tag: 'Discovery',
    summary: 'This document (OpenAPI 3.1)',
    responses: { 200: ok(v.looseObject({ openapi: str(), paths: EMPTY })) },
  },
  {
    method: 'get',
    path: '/docs',
    tag: 'Discovery',
    summary: 'The API reference page, built from this document',
    responses: { 200: { description: 'HTML page', type: 'text/html', schema: str() } },
  },
  {
    method: 'get',
    path: '/docs/style.css',
    tag: 'Discovery',
    summary: 'The style sheet of the reference page',
    responses: { 200: { description: 'CSS', type: 'text/css', schema: str() } },
  },
]

/** The OAuth and discovery operations. */
export const OAUTH_OPS: readonly OperationSpec[] = [...oauth, ...discovery]
