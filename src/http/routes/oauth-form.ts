/**
 * What every OAuth endpoint shares: form-encoded requests with each parameter at most once
 * (RFC 6749 §3.2), and RFC 6749 §5.2 error bodies.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
import type { Context } from 'hono'
import { RelayError } from '../../core/errors.ts'
import { mediaTypeOf, readTextCapped } from '../body.ts'
import type { AppEnv } from '../context.ts'
import { NO_STORE } from './account-shared.ts'

/** The largest OAuth form body accepted. */
export const MAX_FORM_BYTES = 4096

/** An RFC 6749 §5.2 error response (`{error, error_description}`, never cached). */
export const oauthError = (c: Context<AppEnv>, error: string, description: string, status: 400 | 401 = 400): Response =>
  c.json({ error, error_description: description }, status, NO_STORE)

/** Reads a form body with each parameter at most once; a Response is the error answer. */
export const readOAuthForm = async (c: Context<AppEnv>): Promise<URLSearchParams | Response> => {
  if (mediaTypeOf(c.req.raw) !== 'application/x-www-form-urlencoded') {
    return oauthError(c, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded')
  }
  let form: URLSearchParams
  try {
    form = new URLSearchParams(await readTextCapped(c.req.raw, MAX_FORM_BYTES))
  } catch (error) {
    if (error instanceof RelayError) return oauthError(c, 'invalid_request', error.detail ?? 'unreadable body')
    throw error
  }
  for (const name of new Set(form.keys())) {
    if (form.getAll(name).length > 1) return oauthError(c, 'invalid_request', `${name} appears more than once`)
  }
  return form
}
