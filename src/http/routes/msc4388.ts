/**
 * The MSC4388 rendezvous API (JSON bodies, sequence tokens) and, with the two-party rule added, the
 * native `/v1/rendezvous` API: compare-and-swap PUT with idempotent retry, relative expiry, and
 * top-level navigation refused.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4388
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4388
 */
import type { Context, Handler } from 'hono'
import type { ChannelRecord } from '../../core/rendezvous/channel.ts'
import type { AbortReason, RendezvousService } from '../../services/rendezvous.ts'
import * as v from 'valibot'
import { readJsonObject } from '../body.ts'
import { anyString, body as jsonBody, parseWith } from '../openapi/fields.ts'
import type { AppEnv } from '../context.ts'
import { refuseNavigation } from '../middleware/fetch-metadata.ts'
import { bearerOf, callerOf, channelIdParam, NO_STORE } from './shared.ts'

/** Path of the MSC4388 API. */
export const MSC4388_PREFIX = '/_matrix/client/unstable/io.element.msc4388/rendezvous'
/** Path of the native API. */
export const NATIVE_PREFIX = '/v1/rendezvous'

/** Options of {@link sequenceRoutes}. */
export interface SequenceRouteOptions {
  rendezvous: RendezvousService
  api: 'msc4388' | 'native'
  maxPayloadBytes: number
  /** Whether the create endpoint is available (discovery reports it). */
  createAvailable: boolean
  /** Native only: signs the channel ticket returned at creation (DESIGN.md, channel confirmation point 4). */
  issueTicket?: (c: Context<AppEnv>, record: ChannelRecord) => Promise<string>
}

const ABORT_REASONS = ['check_code_mismatch', 'user_cancelled', 'protocol_error'] as const satisfies readonly AbortReason[]

/** `POST …/rendezvous`: the first payload (opaque: only its type is checked). */
export const CREATE_BODY = jsonBody({ data: anyString('data') })
/** `PUT …/rendezvous/{id}`: compare-and-swap on the sequence token. */
export const WRITE_BODY = jsonBody({ sequence_token: anyString('sequence_token'), data: anyString('data') })
/** `POST /v1/rendezvous/{id}/abort`; a missing or null reason is `user_cancelled`. */
export const ABORT_BODY = jsonBody({
  reason: v.nullish(v.picklist(ABORT_REASONS, `reason must be one of ${ABORT_REASONS.join(', ')}`)),
})

/** Handlers of one sequence-token API. */
export const sequenceRoutes = (options: SequenceRouteOptions) => {
  const { rendezvous, api, maxPayloadBytes } = options
  // A JSON envelope may escape every payload byte (\uXXXX is 6 bytes per byte), plus room for fields.
  const maxBodyBytes = maxPayloadBytes * 6 + 1024
  const native = api === 'native'
  const secretOf = (c: Context<AppEnv>): string | null => (native ? bearerOf(c) : null)
  const view = (record: ChannelRecord) => ({
    data: record.data,
    sequence_token: record.token,
    expires_in_ms: rendezvous.remainingMs(record),
  })

  const discover: Handler<AppEnv> = (c) => c.json({ create_available: options.createAvailable }, 200, NO_STORE)

  const create: Handler<AppEnv> = async (c) => {
    const { data } = parseWith(CREATE_BODY, await readJsonObject(c.req.raw, maxBodyBytes))
    const { record, creatorSecret } = await rendezvous.create(api, data, callerOf(c))
    const answer: Record<string, unknown> = {
      id: record.id,
      sequence_token: record.token,
      expires_in_ms: rendezvous.remainingMs(record),
    }
    if (creatorSecret !== undefined) answer.creator_secret = creatorSecret
    if (options.issueTicket !== undefined) answer.ticket = await options.issueTicket(c, record)
    return c.json(answer, 200, NO_STORE)
  }

  const read: Handler<AppEnv> = async (c) => {
    refuseNavigation(c.req.raw.headers)
    const result = await rendezvous.read(api, channelIdParam(c), callerOf(c), secretOf(c))
    const answer: Record<string, unknown> = view(result.record)
    if (result.joinerSecret !== undefined) answer.joiner_secret = result.joinerSecret
    return c.json(answer, 200, NO_STORE)
  }

  const write: Handler<AppEnv> = async (c) => {
    const id = channelIdParam(c)
    const { sequence_token: token, data } = parseWith(WRITE_BODY, await readJsonObject(c.req.raw, maxBodyBytes))
    const result = await rendezvous.write(api, id, data, token, callerOf(c), secretOf(c))
    const answer: Record<string, unknown> = { sequence_token: result.record.token }
    if (result.joinerSecret !== undefined) answer.joiner_secret = result.joinerSecret
    return c.json(answer, 200, NO_STORE)
  }

  const remove: Handler<AppEnv> = async (c) => {
    await rendezvous.remove(api, channelIdParam(c), callerOf(c), secretOf(c))
    return c.json({}, 200, NO_STORE)
  }

  const abort: Handler<AppEnv> = async (c) => {
    const id = channelIdParam(c)
    const reason = parseWith(ABORT_BODY, await readJsonObject(c.req.raw, 1024)).reason ?? 'user_cancelled'
    await rendezvous.abort(id, bearerOf(c), reason, callerOf(c))
    return c.json({}, 200, NO_STORE)
  }

  return { discover, create, read, write, remove, abort }
}
