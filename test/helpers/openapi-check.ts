/**
 * Every response a test sees through `makeApp().app.request()` is checked against the app's own
 * OpenAPI document (`src/http/openapi/document.ts`): the status must be documented for that operation
 * and a JSON body must match its schema (ajv, JSON Schema 2020-12 with formats). A mismatch throws, so
 * the test that sent the request fails: code and document cannot disagree unnoticed.
 *
 * Requests to no documented operation (unknown paths, other methods: 404/405, CORS preflights, HEAD,
 * the HTML pages) are not checked.
 */
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import type { ValidateFunction } from 'ajv'
import { buildDocument, type MountedRoute } from '../../src/http/openapi/document.ts'

type Json = Record<string, any>

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void

/** JSON pointer escaping of one segment. */
const pointer = (segment: string): string => segment.replaceAll('~', '~0').replaceAll('/', '~1')

/** A path template (`/v1/devices/{id}`) as a regex of the whole path. */
const templateRegex = (template: string): RegExp =>
  new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`)

/** Checks responses against `document`; throws an Error describing the first mismatch. */
export const responseChecker = (document: Json) => {
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats(ajv)
  ajv.addSchema(document, 'openapi')
  const templates = Object.keys(document.paths as Json)
    .map((path) => ({ path, regex: templateRegex(path), params: (path.match(/\{/g) ?? []).length }))
    .sort((a, b) => a.params - b.params)
  const compiled = new Map<string, ValidateFunction>()
  const validatorAt = (ref: string): ValidateFunction => {
    let validate = compiled.get(ref)
    if (validate === undefined) {
      validate = ajv.compile({ $ref: `openapi#${ref}` })
      compiled.set(ref, validate)
    }
    return validate
  }

  /** The documented operation of `method path`, or undefined. */
  const operationOf = (method: string, path: string): { template: string; op: Json } | undefined => {
    for (const t of templates) {
      const op = (document.paths as Json)[t.path]?.[method]
      if (op !== undefined && t.regex.test(path)) return { template: t.path, op }
    }
    return undefined
  }

  return async (method: string, path: string, response: Response): Promise<void> => {
    const found = operationOf(method.toLowerCase(), path)
    if (found === undefined) return
    const { template, op } = found
    const where = `${method.toUpperCase()} ${path} (${template}) → ${response.status}`
    const key = String(response.status) in op.responses ? String(response.status) : 'default' in op.responses ? 'default' : undefined
    if (key === undefined) throw new Error(`OpenAPI: status not documented: ${where}`)
    const media = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
    if (media !== 'application/json') return
    const content = op.responses[key].content as Json | undefined
    if (content?.['application/json'] === undefined) throw new Error(`OpenAPI: JSON body not documented: ${where}`)
    if (content['application/json'].schema === undefined) return
    const text = await response.clone().text()
    const body: unknown = JSON.parse(text)
    const ref = `/paths/${pointer(template)}/${method.toLowerCase()}/responses/${key}/content/application~1json/schema`
    const validate = validatorAt(ref)
    if (!validate(body)) {
      throw new Error(`OpenAPI: body does not match the document: ${where}\n${ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`)
    }
  }
}

/** The method and path of what `app.request` was given. */
const requestLine = (input: string | URL | Request, init?: RequestInit): { method: string; path: string } => {
  if (input instanceof Request) return { method: input.method, path: new URL(input.url).pathname }
  const url = input instanceof URL ? input : new URL(input, 'http://localhost')
  return { method: init?.method ?? 'GET', path: url.pathname }
}

/** What `app.request` looks like. */
interface Requestable {
  routes: readonly MountedRoute[]
  request: (input: string | URL | Request, init?: RequestInit, ...rest: any[]) => Response | Promise<Response>
}

/**
 * Makes `app.request` check every response against the app's document (built on first use, from the
 * routes mounted by then).
 *
 * @example
 * const app = checkResponses(createApp(services, host))
 */
export const checkResponses = <A extends Requestable>(app: A): A => {
  const original = app.request.bind(app)
  let check: ReturnType<typeof responseChecker> | undefined
  app.request = async (input, init, ...rest) => {
    const response = await original(input, init, ...rest)
    check ??= responseChecker(buildDocument(app.routes, []))
    const { method, path } = requestLine(input, init)
    await check(method, path, response)
    return response
  }
  return app
}
