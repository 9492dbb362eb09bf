/**
 * Every response a test sees through `makeApp().app.request()` (or the app's `fetch`, e.g. served on
 * a port) is checked against the app's own OpenAPI document (`src/http/openapi/document.ts`): the
 * status must be documented for that operation, the media type must be one it declares, and a JSON
 * body must match its schema (ajv, JSON Schema 2020-12 with formats). A mismatch throws, so the test
 * that sent the request fails: code and document cannot disagree unnoticed.
 *
 * Requests to no documented operation (unknown paths, other methods: 404/405, CORS preflights, HEAD)
 * are not checked: there is nothing to check them against. HTML pages are checked for status and
 * media type only (the document declares `text/html`, no schema), other non-JSON bodies likewise.
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
    const content = op.responses[key].content as Json | undefined
    if (media !== 'application/json') {
      // A body in another media type (HTML, text, CSS): the type must be one of those declared.
      if (media !== '' && !(media in (content ?? {}))) {
        throw new Error(`OpenAPI: media type ${media} not documented (${Object.keys(content ?? {}).join(', ') || 'no body'}): ${where}`)
      }
      return
    }
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

/** What an app looks like: its mounted routes and its `fetch` (which `app.request` calls too). */
interface Fetchable {
  routes: readonly MountedRoute[]
  fetch: (request: Request, ...rest: any[]) => Response | Promise<Response>
}

/**
 * Makes the app check every response against its own document (built on first use, from the routes
 * mounted by then): `app.fetch` is wrapped, so `app.request` and a server serving `app.fetch` are
 * checked alike.
 *
 * @example
 * const app = checkResponses(createApp(services, host))
 */
export const checkResponses = <A extends Fetchable>(app: A): A => {
  const original = app.fetch.bind(app)
  let check: ReturnType<typeof responseChecker> | undefined
  app.fetch = async (request, ...rest) => {
    const { method, url } = request
    const response = await original(request, ...rest)
    check ??= responseChecker(buildDocument(app.routes, []))
    await check(method, new URL(url).pathname, response)
    return response
  }
  return app
}
