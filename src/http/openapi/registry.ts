/**
 * How a route describes itself for `GET /openapi.json`: method and Hono path, a tag, the request's
 * parameters and body as the valibot schemas that validate them (`fields.ts`), and each response
 * with its schema and headers. The descriptions live next to the route table (`ops-*.ts`); the
 * document is built from those that the app really mounts (`document.ts`).
 */
import type { AnySchema } from './fields.ts'

/** The security schemes of the document (`components.securitySchemes`). */
export type SchemeName = 'accessToken' | 'dpopToken' | 'adminToken' | 'channelSecret' | 'introspectionClient' | 'metricsToken'

/** The response headers the document names (`components.headers`). */
export type HeaderName =
  | 'ETag'
  | 'Expires'
  | 'Last-Modified'
  | 'Retry-After'
  | 'WWW-Authenticate'
  | 'DPoP-Nonce'
  | 'Preference-Applied'
  | 'Upgrade'
  | 'Access-Control-Allow-Origin'

/** One response of an operation. */
export interface ResponseSpec {
  description: string
  /** The body's schema (JSON unless `type` says otherwise); none: no body, or one not described. */
  schema?: AnySchema
  /** The media type (default `application/json` when there is a schema). */
  type?: string
  /** An HTML page too (or only, without `schema` and `type`): `text/html`. */
  html?: boolean
  headers?: readonly HeaderName[]
}

/** A path, query or header parameter. */
export interface ParamSpec {
  schema: AnySchema
  description?: string
  required?: boolean
}

/** One operation: what a route accepts and answers. */
export interface OperationSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete'
  /** The path as Hono mounts it (`/v1/devices/:id`). */
  path: string
  tag: string
  summary: string
  description?: string
  /** Alternatives: any one of these schemes is enough (none: open). */
  security?: readonly SchemeName[]
  /** Whether the security is optional (e.g. the metrics token only when one is set). */
  securityOptional?: boolean
  params?: Readonly<Record<string, ParamSpec>>
  query?: Readonly<Record<string, ParamSpec>>
  headers?: Readonly<Record<string, ParamSpec>>
  body?: { type: string; schema: AnySchema; required?: boolean; description?: string }
  responses: Readonly<Record<number, ResponseSpec>>
}
