/**
 * Computes the OpenAPI 3.1 form of every operation qrelay can mount from the operation descriptions
 * (`ops-*.ts`): every valibot schema, the same objects that validate requests, becomes JSON Schema
 * 2020-12 (the dialect of OpenAPI 3.1). `assemble.ts` then lists the ones an app mounts. On Node this
 * is loaded on the first `GET /openapi.json` or `GET /docs` (`mount.ts`); the Worker reads the same
 * table as JSON written at build time (`scripts/worker-assets.ts`), so none of this is in its bundle.
 *
 * @see https://spec.openapis.org/oas/v3.1.0
 */
import { assembleDocument, operationIdOf, operationKey, type MountedRoute, type OperationTable } from './assemble.ts'
import { ERROR, OAUTH_ERROR, UIA_CHALLENGE } from './common.ts'
import type { AnySchema } from './fields.ts'
import { ACCOUNT_OPS } from './ops-account.ts'
import { ADMIN_OPS } from './ops-admin.ts'
import { OAUTH_OPS } from './ops-oauth.ts'
import { PAGE_OPS } from './ops-pages.ts'
import { RENDEZVOUS_OPS } from './ops-rendezvous.ts'
import { toJsonSchema } from './json-schema.ts'
import type { HeaderName, OperationSpec, ParamSpec, ResponseSpec, SchemeName } from './registry.ts'

export { openApiPath, type MountedRoute } from './assemble.ts'

type Json = Record<string, unknown>

/** The version of the API the document describes (the package's). */
const API_VERSION = '0.1.0'

/** Every operation qrelay can mount (which ones an app has depends on its configuration). */
export const OPERATIONS: readonly OperationSpec[] = [...RENDEZVOUS_OPS, ...OAUTH_OPS, ...ACCOUNT_OPS, ...ADMIN_OPS, ...PAGE_OPS]

/** The schemas every operation shares, referenced as `#/components/schemas/<name>`. */
const SHARED = { Error: ERROR, OAuthError: OAUTH_ERROR, UiaChallenge: UIA_CHALLENGE }
const SHARED_NAMES = new Map<AnySchema, string>(Object.entries(SHARED).map(([name, schema]) => [schema as AnySchema, name]))

const jsonSchema = (schema: AnySchema): Json => toJsonSchema(schema, SHARED_NAMES)

const SCHEMES: Record<SchemeName, Json> = {
  accessToken: { type: 'http', scheme: 'bearer', description: 'An access token of `POST /v1/login` or a refresh' },
  dpopToken: {
    type: 'http',
    scheme: 'DPoP',
    description: 'A DPoP-bound access token (QR login) with a fresh `DPoP` proof carrying `ath` (RFC 9449)',
  },
  adminToken: { type: 'http', scheme: 'bearer', description: 'The operator token, `QRELAY_ADMIN_TOKEN`' },
  channelSecret: { type: 'http', scheme: 'bearer', description: "A native channel's creator or joiner secret" },
  introspectionClient: { type: 'http', scheme: 'basic', description: 'A client of `QRELAY_INTROSPECTION_CLIENTS`' },
  metricsToken: { type: 'http', scheme: 'bearer', description: '`QRELAY_METRICS_TOKEN`, when set' },
}

const HEADERS: Record<HeaderName, string> = {
  ETag: 'Strong entity tag of the current payload',
  Expires: 'When the session expires (HTTP date)',
  'Last-Modified': 'When the payload last changed (HTTP date)',
  'Retry-After': 'Seconds to wait before retrying',
  'WWW-Authenticate': 'The scheme the endpoint expects',
  'DPoP-Nonce': 'The server nonce to use in the next DPoP proof (when nonces are on)',
  'Preference-Applied': 'The `Prefer` preference the server honoured (RFC 7240), e.g. `wait=5`',
  Upgrade: '`websocket`',
  'Access-Control-Allow-Origin': '`*`: any origin may read it',
}

/** Added to every operation unless it says otherwise: what any route may answer. */
const ALWAYS: Record<number, ResponseSpec> = {
  403: { description: 'Refused (no public base URL is configured and the Host is not loopback, or a policy)', schema: ERROR },
  500: { description: 'Internal error (says nothing more)', schema: ERROR },
  503: { description: 'The store is unreachable: retry the same request (`Retry-After`)', schema: ERROR, headers: ['Retry-After'] },
}

const TOO_LARGE: ResponseSpec = { description: 'Body too large', schema: ERROR }

const responseOf = (spec: ResponseSpec): Json => {
  const out: Json = { description: spec.description }
  if (spec.headers !== undefined) out.headers = Object.fromEntries(spec.headers.map((h) => [h, { $ref: `#/components/headers/${h}` }]))
  const content: Json = {}
  if (spec.schema !== undefined || spec.type !== undefined) {
    content[spec.type ?? 'application/json'] = spec.schema === undefined ? {} : { schema: jsonSchema(spec.schema) }
  }
  if (spec.html === true) content['text/html'] = {}
  if (Object.keys(content).length > 0) out.content = content
  return out
}

const paramsOf = (where: 'path' | 'query' | 'header', specs: Readonly<Record<string, ParamSpec>> | undefined): Json[] =>
  Object.entries(specs ?? {}).map(([name, spec]) => ({
    name,
    in: where,
    required: where === 'path' || spec.required === true,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    schema: jsonSchema(spec.schema),
  }))

const operationOf = (op: OperationSpec): Json => {
  const parameters = [...paramsOf('path', op.params), ...paramsOf('query', op.query), ...paramsOf('header', op.headers)]
  const security = op.security?.map((scheme) => ({ [scheme]: [] }))
  // A JSON or text body is read with a byte cap: any of them can be too large.
  const capped = op.body !== undefined && op.body.type !== 'application/x-www-form-urlencoded' ? { 413: TOO_LARGE } : {}
  const responses = { ...ALWAYS, ...capped, ...op.responses }
  return {
    tags: [op.tag],
    summary: op.summary,
    operationId: operationIdOf(op.method, op.path),
    ...(op.description === undefined ? {} : { description: op.description }),
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(security === undefined ? {} : { security: op.securityOptional === true ? [...security, {}] : security }),
    ...(op.body === undefined
      ? {}
      : { requestBody: { required: op.body.required ?? true, content: { [op.body.type]: { schema: jsonSchema(op.body.schema) } } } }),
    responses: Object.fromEntries(Object.entries(responses).map(([status, spec]) => [status, responseOf(spec)])),
  }
}

/**
 * Every operation qrelay can mount, in OpenAPI form, and the rest of the document: plain JSON, which
 * `scripts/worker-assets.ts` writes for the Worker.
 */
export const operationTable = (): OperationTable => ({
  head: {
    openapi: '3.1.0',
    info: {
      title: 'qrelay',
      version: API_VERSION,
      description: 'Cross-device login rendezvous relay: MSC4108/MSC4388 rendezvous, OAuth device flow with DPoP, accounts.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
  },
  operations: Object.fromEntries(OPERATIONS.map((op) => [operationKey(op.method, op.path), operationOf(op)])),
  components: {
    securitySchemes: SCHEMES,
    headers: Object.fromEntries(Object.entries(HEADERS).map(([name, description]) => [name, { description, schema: { type: 'string' } }])),
    schemas: Object.fromEntries(Object.entries(SHARED).map(([name, schema]) => [name, toJsonSchema(schema as AnySchema)])),
  },
})

/** The document of an app that mounts `routes`, of which `pages` are HTML pages. */
export const buildDocument = (routes: readonly MountedRoute[], pages: readonly MountedRoute[]): Json =>
  assembleDocument(operationTable(), routes, pages)
