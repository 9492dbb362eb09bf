/**
 * The request schemas' building blocks (valibot) and the one parse that turns the first problem into
 * the same RelayError the routes always answered with: a missing field is MISSING_PARAM
 * `<name> is required`, anything else INVALID_PARAM with the field's own message. Each schema here
 * validates the request AND describes it in `GET /openapi.json` (see `document.ts`), so the two cannot
 * drift apart. Fields are checked in the order of the schema's entries; the first problem answers.
 */
import * as v from 'valibot'
import { RelayError } from '../../core/errors.ts'

/** Any valibot schema (the registry and the document take these). */
export type AnySchema = v.GenericSchema

/** A required string of 1..`max` characters (`requiredString` of the account routes). */
export const text = (name: string, max: number) =>
  v.pipe(
    v.string(`${name} must be a string of 1 to ${max} characters`),
    v.minLength(1, `${name} must be a string of 1 to ${max} characters`),
    v.maxLength(max, `${name} must be a string of 1 to ${max} characters`),
  )

/** The same, optional. */
export const optionalText = (name: string, max: number) => v.optional(text(name, max))

/** A required string of any length (the rendezvous payload fields: opaque, never looked into). */
export const anyString = (name: string) => v.string(`${name} must be a string`)

/** An optional boolean. */
export const flag = (name: string) => v.optional(v.boolean(`${name} must be true or false`))

/** 32 bytes, base64url without padding (channel bindings, RFC 7638 thumbprints). */
export const base64Url32 = (message: string) => v.pipe(v.string(message), v.regex(/^[A-Za-z0-9_-]{43}$/, message))

/** A JSON object body whose other members are kept (the UIA `auth` member, extensions). */
export const body = <const E extends v.ObjectEntries>(entries: E) => v.looseObject(entries)

/** A required form field of 1..`max` characters, with one message for every problem (RFC 6749 style). */
export const formText = (message: string, max = Number.MAX_SAFE_INTEGER) =>
  v.pipe(v.string(message), v.minLength(1, message), v.maxLength(max, message))

/** The key a "missing member" issue names, if it is one. */
const missingKey = (issue: v.BaseIssue<unknown>): string | undefined => {
  if (issue.kind !== 'schema' || !issue.type.endsWith('object') || issue.input !== undefined) return undefined
  const key = issue.path?.at(-1)?.key
  return typeof key === 'string' ? key : undefined
}

/**
 * Validates a form (each parameter at most once, already checked) against `schema`: its values, or
 * the first problem's message, a missing field's being its own schema's message (the routes answer
 * it as an RFC 6749 `invalid_request`).
 *
 * @example
 * const checked = parseForm(REVOKE_FORM, form)
 * if (!checked.ok) return oauthError(c, 'invalid_request', checked.message)
 */
export const parseForm = <S extends v.GenericSchema & { entries: v.ObjectEntries }>(
  schema: S,
  form: URLSearchParams,
): { ok: true; value: v.InferOutput<S> } | { ok: false; message: string } => {
  const result = v.safeParse(schema, Object.fromEntries(form), { abortEarly: true, abortPipeEarly: true })
  if (result.success) return { ok: true, value: result.output }
  const issue = result.issues[0]
  const missing = missingKey(issue)
  const own = missing === undefined ? undefined : (schema.entries[missing] as { message?: unknown }).message
  return { ok: false, message: typeof own === 'string' ? own : issue.message }
}

/**
 * Validates `input` against `schema`, stopping at the first problem. Errors: MISSING_PARAM for a
 * missing member, INVALID_PARAM with the schema's message otherwise.
 *
 * @example
 * const { code } = parseWith(CONFIRM_TOTP_BODY, await readOptionalJson(c.req.raw))
 */
export const parseWith = <S extends AnySchema>(schema: S, input: unknown): v.InferOutput<S> => {
  const result = v.safeParse(schema, input, { abortEarly: true, abortPipeEarly: true })
  if (result.success) return result.output
  const issue = result.issues[0]
  const missing = missingKey(issue)
  if (missing !== undefined) throw new RelayError('MISSING_PARAM', { detail: `${missing} is required` })
  throw new RelayError('INVALID_PARAM', { detail: issue.message })
}
