/**
 * The answer of a known endpoint to a method it does not serve (405 M_UNRECOGNIZED-style error).
 */
import type { Handler } from 'hono'
import { RelayError } from '../core/errors.ts'
import type { AppEnv } from './context.ts'

/** Mount with `app.all(path, methodNotAllowed)` after the path's real methods. */
export const methodNotAllowed: Handler<AppEnv> = () => {
  throw new RelayError('METHOD_NOT_ALLOWED', { detail: 'method not allowed on this endpoint' })
}
