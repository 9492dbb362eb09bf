/**
 * Valibot schema → JSON Schema 2020-12 (the dialect of OpenAPI 3.1), for the part of valibot the
 * routes use: strings, numbers, booleans, literals, picklists, objects, arrays, optional
 * and nullable members, unions and intersections, with the length, pattern and integer actions. A check or a custom schema (a rule JSON Schema cannot say) becomes `{}` (anything): the
 * route's own description says it. Written here rather than taken from `@valibot/to-json-schema`:
 * that package alone weighed ~4 KiB gzipped of the Workers bundle, this converter a tenth of it.
 */
import type { AnySchema } from './fields.ts'

type Json = Record<string, unknown>

/** What a valibot schema or pipe item exposes (its public, documented properties). */
interface Node {
  kind: string
  type: string
  pipe?: readonly Node[]
  entries?: Record<string, Node>
  wrapped?: Node
  item?: Node
  options?: readonly (Node | string | number)[]
  literal?: unknown
  requirement?: unknown
}

const OPTIONAL = new Set(['optional', 'exact_optional', 'nullish'])

const nullable = (schema: Json): Json => ({ anyOf: [schema, { type: 'null' }] })

/** The actions of a pipe that JSON Schema can say. */
const applyAction = (out: Json, action: Node): void => {
  if (action.type === 'min_length') out.minLength = action.requirement
  else if (action.type === 'max_length') out.maxLength = action.requirement
  else if (action.type === 'regex') out.pattern = (action.requirement as RegExp).source
  else if (action.type === 'integer') out.type = 'integer'
}

/**
 * Converts `schema`; a schema found in `shared` becomes a `$ref` to `#/components/schemas/<name>`.
 *
 * @example
 * toJsonSchema(v.looseObject({ code: text('code', 32) })) // { type: 'object', properties: …, required: ['code'] }
 */
export const toJsonSchema = (schema: AnySchema, shared: ReadonlyMap<AnySchema, string> = new Map()): Json => {
  const convert = (node: Node): Json => {
    const name = shared.get(node as unknown as AnySchema)
    if (name !== undefined) return { $ref: `#/components/schemas/${name}` }
    if (node.pipe === undefined) return convertBare(node)
    // A pipe's first item is the schema it started from (itself perhaps a pipe); then its actions.
    const [first, ...rest] = node.pipe
    const out = convert(first as Node)
    for (const item of rest) {
      if (item.kind === 'schema') Object.assign(out, convert(item))
      else applyAction(out, item)
    }
    return out
  }
  const convertBare = (node: Node): Json => {
    switch (node.type) {
      case 'string':
      case 'number':
      case 'boolean':
        return { type: node.type }
      case 'literal':
        return { const: node.literal }
      case 'picklist':
        return { enum: [...(node.options ?? [])] }
      case 'object':
      case 'loose_object': {
        const entries = Object.entries(node.entries ?? {})
        const required = entries.filter(([, value]) => !OPTIONAL.has(value.type)).map(([key]) => key)
        return {
          type: 'object',
          properties: Object.fromEntries(entries.map(([key, value]) => [key, convert(value)])),
          ...(required.length === 0 ? {} : { required }),
        }
      }
      case 'optional':
      case 'exact_optional':
        return convert(node.wrapped as Node)
      case 'nullable':
      case 'nullish':
        return nullable(convert(node.wrapped as Node))
      case 'array':
        return { type: 'array', items: convert(node.item as Node) }
      case 'union':
        return { anyOf: (node.options as Node[]).map((option) => convert(option)) }
      case 'intersect':
        return { allOf: (node.options as Node[]).map((option) => convert(option)) }
      default:
        // custom, unknown: nothing JSON Schema can say.
        return {}
    }
  }
  return convert(schema as unknown as Node)
}
