/**
 * Small helpers the rendezvous routes share: the caller of a request, the channel id parameter, the
 * bearer secret of native channels, and the no-store headers.
 */
import type { Context } from 'hono'
import * as v from 'valibot'
import { RelayError } from '../../core/errors.ts'
import type { Caller } from '../../services/rendezvous.ts'
import type { AppEnv } from '../context.ts'

/** A channel id: the Matrix opaque-identifier grammar, 1..255 characters. */
export const CHANNEL_ID = v.pipe(v.string(), v.regex(/^[0-9A-Za-z\-._~]{1,255}$/))

/** Headers of every JSON rendezvous response: never stored, never transformed by a proxy. */
export const NO_STORE = { 'Cache-Control': 'no-store, no-transform', Pragma: 'no-cache' } as const

/** The caller as the services see it. */
export const callerOf = (c: Context<AppEnv>): Caller => {
  const asn = c.get('clientAsn')
  // Set by the creator's bearer auth, when channel creation requires it.
  const accountId = (c.var as { principal?: { accountId: string } }).principal?.accountId
  return {
    clientKey: c.get('clientKey'),
    address: c.get('clientAddress'),
    ...(asn === undefined ? {} : { asn }),
    ...(accountId === undefined ? {} : { accountId }),
  }
}

/**
 * The `:id` parameter, checked against the opaque-identifier grammar (a malformed id cannot exist,
 * so it is NOT_FOUND like any unknown one). Records a keyed hash of it for the access log.
 */
export const channelIdParam = (c: Context<AppEnv>): string => {
  const id = c.req.param('id') ?? ''
  if (!v.is(CHANNEL_ID, id)) throw new RelayError('NOT_FOUND', { detail: 'no such channel' })
  c.set('channelId', id)
  return id
}

/** The bearer secret of `Authorization: Bearer …`, or null. Errors: INVALID_PARAM on another scheme. */
export const bearerOf = (c: Context<AppEnv>): string | null => {
  const header = c.req.header('authorization')
  if (header === undefined) return null
  const match = /^Bearer\s+([0-9A-Za-z\-._~+/]+=*)\s*$/i.exec(header)
  if (!match) throw new RelayError('INVALID_PARAM', { detail: 'Authorization must be a Bearer secret' })
  return match[1] as string
}
