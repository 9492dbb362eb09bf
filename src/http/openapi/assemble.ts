/**
 * Assembles the OpenAPI 3.1 document of one app from a precomputed {@link OperationTable}: every
 * operation qrelay can mount, already in OpenAPI form (`document.ts` computes it from the operation
 * descriptions and the valibot schemas). Only the operations the app really mounts are listed (its
 * `routes`); its page routes are listed as `text/html`. Small and schema-free, so that a runtime can
 * load the table as data (the Worker reads it through its assets binding, see docs/workers.md)
 * instead of bundling the descriptions and the JSON Schema converter.
 */

type Json = Record<string, unknown>

/** A route as Hono lists it (`app.routes`). */
export interface MountedRoute {
  method: string
  path: string
}

/** Every operation qrelay can mount, in OpenAPI form, and the rest of the document. Plain JSON. */
export interface OperationTable {
  /** `openapi`, `info`, `jsonSchemaDialect`: what precedes `paths`. */
  head: Json
  /** By `<lowercase method> <Hono path>`. */
  operations: Readonly<Record<string, Json>>
  /** The document's `components`. */
  components: Json
}

/** The key of an operation in {@link OperationTable.operations}. */
export const operationKey = (method: string, path: string): string => `${method.toLowerCase()} ${path}`

/** `/v1/devices/:id` → `/v1/devices/{id}` (a Hono pattern such as `:file{[a-z]+\\.js}` too). */
export const openApiPath = (honoPath: string): string => honoPath.replace(/:([A-Za-z0-9_]+)(\{(?:[^{}]|\{[^{}]*\})*\})?/g, '{$1}')

/** The parameter names of a Hono path. */
const pathParams = (honoPath: string): string[] => [...openApiPath(honoPath).matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string)

/** `get /v1/devices/:id` → `getV1DevicesId` */
export const operationIdOf = (method: string, path: string): string =>
  method + openApiPath(path).replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ?? '').toUpperCase())

/** A page route: HTML for people, any status (redirects, refusals rendered as pages). */
const pageOperation = (method: string, path: string): Json => ({
  tags: ['Pages'],
  summary: `${method.toUpperCase()} ${openApiPath(path)} (HTML page)`,
  operationId: `page${operationIdOf(method, path)}`,
  ...(pathParams(path).length === 0
    ? {}
    : { parameters: pathParams(path).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })) }),
  responses: { default: { description: 'An HTML page, a redirect, or a JSON error', content: { 'text/html': {} } } },
})

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete'])

/** The document of an app that mounts `routes`, of which `pages` are HTML pages. */
export const assembleDocument = (table: OperationTable, routes: readonly MountedRoute[], pages: readonly MountedRoute[]): Json => {
  const pageKeys = new Set(pages.map((r) => operationKey(r.method, r.path)))
  const paths: Record<string, Json> = {}
  for (const route of routes) {
    const method = route.method.toLowerCase()
    if (!METHODS.has(method)) continue
    const key = operationKey(method, route.path)
    const operation = table.operations[key] ?? (pageKeys.has(key) ? pageOperation(method, route.path) : undefined)
    if (operation === undefined) continue
    const path = openApiPath(route.path)
    paths[path] = { ...paths[path], [method]: operation }
  }
  return { ...table.head, paths, components: table.components }
}
