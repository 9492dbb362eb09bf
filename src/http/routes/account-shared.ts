/**
 * Helpers the account routes share: reading an optional JSON body, typed field readers that refuse
 * bad input before anything changes, and answering a UIA challenge with its Matrix 401 body.
 */
import type { Context, Env } from 'hono'
import { RelayError } from '../../core/errors.ts'
import { UiaChallengeError, type UiaRequest } from '../../services/uia.ts'
import { mediaTypeOf, readJsonObject, readTextCapped } from '../body.ts'
import type { AppEnv } from '../context.ts'
import { noteRefusal } from '../middleware/request-context.ts'

/** Largest JSON body the account endpoints read. */
export const MAX_ACCOUNT_BODY_BYTES = 16 * 1024

/** Headers of every account response: tokens and codes are never cached. */
export const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const

/** A JSON object body; an empty body without Content-Type counts as `{}` (DELETE, first UIA round). */
export const readOptionalJson = async (request: Request): Promise<Record<string, unknown>> => {
  if (mediaTypeOf(request) === '') {
    if ((await readTextCapped(request, MAX_ACCOUNT_BODY_BYTES)) === '') return {}
    throw new RelayError('NOT_JSON', { detail: 'Content-Type must be application/json' })
  }
  return readJsonObject(request, MAX_ACCOUNT_BODY_BYTES)
}

/**
 * The request a UIA session is bound to. Behind bearer auth, the session's device comes along: its
 * guesses use that device's own budget (see `core/policy/guess-limits.ts`).
 */
export const uiaRequestOf = (
  c: {
    req: { method: string; path: string }
    var: Pick<AppEnv['Variables'], 'clientKey'> & { principal?: { deviceId: string } }
  },
  body: Record<string, unknown>,
  extra: Pick<UiaRequest, 'deviceTrust'> = {},
): UiaRequest => {
  const deviceId = c.var.principal?.deviceId
  return {
    method: c.req.method,
    path: c.req.path,
    body,
    clientKey: c.var.clientKey,
    ...extra,
    ...(deviceId === undefined ? {} : { sessionDeviceId: deviceId }),
  }
}

/** A route handler that always answers. */
export type RouteFn<E extends Env> = (c: Context<E>) => Promise<Response>

/** Wraps a handler so a {@link UiaChallengeError} becomes the Matrix 401 challenge body. */
export const withUia =
  <E extends Env>(handler: RouteFn<E>): RouteFn<E> =>
  async (c) => {
    try {
      return await handler(c)
    } catch (error) {
      if (error instanceof UiaChallengeError) {
        noteRefusal(c, 'AUTH_STAGE_REQUIRED', error.body.error)
        return c.json(error.body, 401, NO_STORE)
      }
      throw error
    }
  }
