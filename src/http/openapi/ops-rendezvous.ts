/**
 * The rendezvous APIs in the document: MSC4108 2024 (ETag, text/plain), MSC4388 (JSON, sequence
 * tokens) and the native `/v1/rendezvous` (two-party, abort, WebSocket). Payloads are opaque: only
 * their type and size are checked, never their content.
 */
import * as v from 'valibot'
import { ABORT_BODY, CREATE_BODY, MSC4388_PREFIX, NATIVE_PREFIX, WRITE_BODY } from '../routes/msc4388.ts'
import { MSC4108_PREFIX } from '../routes/msc4108.ts'
import { CHANNEL_ID } from '../routes/shared.ts'
import { EMPTY, errors, int, ok, opt, str } from './common.ts'
import type { OperationSpec } from './registry.ts'

const idParam = { id: { schema: CHANNEL_ID, description: 'The channel id (unknown or malformed: 404)' } }
const SESSION: OperationSpec['responses'][number]['headers'] = ['ETag', 'Expires', 'Last-Modified']
/** The payload: opaque UTF-8 text. */
const textBody = { type: 'text/plain', schema: v.string(), required: true }

const msc4108: OperationSpec[] = [
  {
    method: 'post',
    path: MSC4108_PREFIX,
    tag: 'MSC4108 rendezvous',
    summary: 'Create a session with its first payload',
    description: 'Needs `Content-Type: text/plain` and `Content-Length`.',
    body: textBody,
    responses: { 201: ok(v.looseObject({ url: str() }), 'Created: the absolute session URL', SESSION), ...errors(400, 403, 413, 429) },
  },
  {
    method: 'get',
    path: `${MSC4108_PREFIX}/:id`,
    tag: 'MSC4108 rendezvous',
    summary: 'Read the current payload',
    params: idParam,
    headers: { 'If-None-Match': { schema: str(), description: 'A strong ETag: 304 when it is current' } },
    responses: {
      200: { description: 'The payload', type: 'text/plain', schema: str(), headers: SESSION },
      304: { description: 'Not modified', headers: SESSION },
      ...errors(400, 403, 404, 429),
    },
  },
  {
    method: 'put',
    path: `${MSC4108_PREFIX}/:id`,
    tag: 'MSC4108 rendezvous',
    summary: 'Replace the payload (compare-and-swap on the ETag)',
    params: idParam,
    headers: { 'If-Match': { schema: str(), required: true, description: 'The ETag last seen' } },
    body: textBody,
    responses: {
      202: { description: 'Accepted (an empty `text/plain` body, §8.2)', type: 'text/plain', headers: SESSION },
      ...errors(400, 403, 404, 412, 413, 429),
    },
  },
  {
    method: 'delete',
    path: `${MSC4108_PREFIX}/:id`,
    tag: 'MSC4108 rendezvous',
    summary: 'Delete the session',
    params: idParam,
    responses: { 204: { description: 'Deleted' }, ...errors(403, 404, 429) },
  },
]

const sequenceOps = (prefix: string, tag: string, native: boolean): OperationSpec[] => {
  const security = native ? (['channelSecret'] as const) : undefined
  // Native only (the others never send them): the joiner's secret, the creator's, the ticket.
  const joiner = { joiner_secret: opt(str()) }
  const party = native ? { security: security ?? [], securityOptional: true } : {}
  return [
    {
      method: 'get',
      path: prefix,
      tag,
      summary: 'Discover whether channels can be created',
      responses: { 200: ok(v.looseObject({ create_available: v.boolean() })) },
    },
    {
      method: 'post',
      path: prefix,
      tag,
      summary: 'Create a channel with its first payload',
      ...(native ? { description: 'Answers the creator secret and a signed channel ticket for the QR code.' } : {}),
      body: { type: 'application/json', schema: CREATE_BODY, required: true },
      responses: {
        200: ok(
          v.looseObject({
            id: str(),
            sequence_token: str(),
            expires_in_ms: int(),
            creator_secret: opt(str()),
            ticket: opt(str()),
          }),
        ),
        ...errors(400, 401, 403, 413, 429),
      },
    },
    {
      method: 'get',
      path: `${prefix}/:id`,
      tag,
      summary: native ? 'Read the payload (the first other reader claims the channel)' : 'Read the payload',
      params: idParam,
      ...party,
      responses: {
        200: ok(v.looseObject({ data: str(), sequence_token: str(), expires_in_ms: int(), ...joiner })),
        ...errors(400, 401, 403, 404, 429),
      },
    },
    {
      method: 'put',
      path: `${prefix}/:id`,
      tag,
      summary: 'Replace the payload (compare-and-swap on the sequence token)',
      params: idParam,
      ...party,
      body: { type: 'application/json', schema: WRITE_BODY, required: true },
      responses: { 200: ok(v.looseObject({ sequence_token: str(), ...joiner })), ...errors(400, 401, 403, 404, 409, 413, 429) },
    },
    {
      method: 'delete',
      path: `${prefix}/:id`,
      tag,
      summary: 'Delete the channel',
      params: idParam,
      ...party,
      responses: { 200: ok(EMPTY), ...errors(400, 401, 403, 404, 429) },
    },
  ]
}

const nativeExtras: OperationSpec[] = [
  {
    method: 'post',
    path: `${NATIVE_PREFIX}/:id/abort`,
    tag: 'Native rendezvous',
    summary: 'Abort the channel (check-code mismatch, cancel, protocol error)',
    params: idParam,
    security: ['channelSecret'],
    body: { type: 'application/json', schema: ABORT_BODY, required: true },
    responses: { 200: ok(EMPTY), ...errors(400, 401, 403, 404, 429) },
  },
  {
    method: 'get',
    path: `${NATIVE_PREFIX}/:id/ws`,
    tag: 'Native rendezvous',
    summary: 'The channel over a WebSocket (the first frame authenticates)',
    params: idParam,
    responses: {
      101: { description: 'Switching protocols', headers: ['Upgrade'] },
      ...errors(404, 426, 429),
    },
  },
]

/** Every rendezvous operation. */
export const RENDEZVOUS_OPS: readonly OperationSpec[] = [
  ...msc4108,
  ...sequenceOps(MSC4388_PREFIX, 'MSC4388 rendezvous', false),
  ...sequenceOps(NATIVE_PREFIX, 'Native rendezvous', true),
  ...nativeExtras,
]
