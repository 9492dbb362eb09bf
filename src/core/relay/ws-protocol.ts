/**
 * The WebSocket wire protocol of native channels (`GET /v1/rendezvous/{id}/ws`): JSON text frames,
 * parsed and validated here, built here. Browsers cannot set `Authorization` on a WebSocket, so the
 * first frame authenticates.
 *
 * Client → server:
 * - `{"type":"hello","secret":"<creator_secret | joiner_secret>"}`, or `{"type":"hello"}` to claim
 *   the channel as its joiner (exactly like a first HTTP read without a secret);
 * - `{"type":"put","sequence_token":"…","data":"…"}`: compare-and-swap write, as `PUT /v1/rendezvous/{id}`;
 * - `{"type":"ping"}` (browsers cannot send protocol pings); `{"type":"delete"}`, as `DELETE`;
 * - `{"type":"abort","reason":"check_code_mismatch" | "user_cancelled" | "protocol_error"}`, as `POST …/abort`.
 *
 * Server → client:
 * - `{"type":"welcome","role","joiner_secret"?,"data","sequence_token","expires_in_ms"}` after a hello;
 * - `{"type":"ack","sequence_token"}` / `{"type":"conflict","sequence_token":<current>}` after a put;
 * - `{"type":"data","data","sequence_token"}` when the other party wrote (by any transport);
 * - `{"type":"pong"}`. Everything else is said with a close code (see `close-codes.ts`).
 *
 * @see ../../../docs/websocket.md
 */
import { fail, ok, type Result } from '../errors.ts'
import { nestingWithin } from '../json/nesting.ts'
import { ABORT_REASONS, type AbortReason, type PartyRole } from './channel-event.ts'

/** A validated client frame (TypeScript fields are camelCase; the wire is snake_case). */
export type ClientFrame =
  | { type: 'hello'; secret: string | null }
  | { type: 'put'; sequenceToken: string; data: string }
  | { type: 'ping' }
  | { type: 'delete' }
  | { type: 'abort'; reason: AbortReason }

/** A frame the server sends. */
export type ServerFrame =
  | {
      type: 'welcome'
      role: PartyRole
      joinerSecret?: string
      data: string
      sequenceToken: string
      expiresInMs: number
    }
  | { type: 'ack'; sequenceToken: string }
  | { type: 'conflict'; sequenceToken: string }
  | { type: 'data'; data: string; sequenceToken: string }
  | { type: 'pong' }

/**
 * The largest text frame accepted for a payload limit: a JSON string may escape every payload byte
 * as `\uXXXX` (6 bytes), plus room for the envelope. The same bound as the HTTP body of a PUT.
 *
 * @example
 * maxFrameBytes(4096) // 25600
 */
export const maxFrameBytes = (maxPayloadBytes: number): number => maxPayloadBytes * 6 + 1024

const MAX_FIELD_CHARS = 512
const shortText = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= MAX_FIELD_CHARS

const PUT_PREFIX = '{"type":"put",'
const TOKEN_KEY = '"sequence_token":'
const DATA_KEY = '"data":'

/** The rest of a plain JSON string after its opening quote: no escape, no control character, then the closing quote. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what a plain JSON string may not hold
const PLAIN_REST = /[^"\\\u0000-\u001f]*"/y

/**
 * The end (the index after the closing quote) of the JSON string opening at `start`, or -1 unless it
 * is a plain one: no escape and no control character, so that its text between the quotes is exactly
 * what `JSON.parse` makes of it. (A sticky expression scans in compiled code, ≈ 2 × faster here than
 * a loop over the characters; synchronous, so its `lastIndex` is never shared.)
 */
const plainStringEnd = (text: string, start: number): number => {
  if (text.charCodeAt(start) !== 34) return -1
  PLAIN_REST.lastIndex = start + 1
  return PLAIN_REST.test(text) ? PLAIN_REST.lastIndex : -1
}

/**
 * A put frame in the compact form clients send (`JSON.stringify` of `{ type: 'put', sequence_token,
 * data }`, the two fields in either order, their strings without escapes) read without `JSON.parse`:
 * the hot frame of a channel. Null for anything else, including any other spelling of the same
 * object, which the full parse then decides; a frame read here is what the full parse would make of it.
 *
 * @example
 * readPutFrame('{"type":"put","sequence_token":"t1","data":"x"}') // { type: 'put', sequenceToken: 't1', data: 'x' }
 * readPutFrame('{"type": "put","sequence_token":"t1","data":"x"}') // null
 */
export const readPutFrame = (text: string): Extract<ClientFrame, { type: 'put' }> | null => {
  if (!text.startsWith(PUT_PREFIX)) return null
  let sequenceToken: string | undefined
  let data: string | undefined
  let at = PUT_PREFIX.length
  for (let field = 0; field < 2; field++) {
    if (field === 1) {
      if (text.charCodeAt(at) !== 44) return null
      at++
    }
    const isToken = sequenceToken === undefined && text.startsWith(TOKEN_KEY, at)
    if (isToken) at += TOKEN_KEY.length
    else if (data === undefined && text.startsWith(DATA_KEY, at)) at += DATA_KEY.length
    else return null
    const end = plainStringEnd(text, at)
    if (end < 0) return null
    const value = text.slice(at + 1, end - 1)
    if (isToken) sequenceToken = value
    else data = value
    at = end
  }
  if (at !== text.length - 1 || text.charCodeAt(at) !== 125) return null
  return { type: 'put', sequenceToken: sequenceToken as string, data: data as string }
}

/**
 * Parses one client text frame. Errors: INVALID_PARAM with a fixed short detail (never an echo of
 * the input) when it is not a JSON object of a known type with the right fields.
 *
 * @example
 * parseClientFrame('{"type":"put","sequence_token":"t1","data":"x"}')
 * // { ok: true, value: { type: 'put', sequenceToken: 't1', data: 'x' } }
 */
export const parseClientFrame = (text: string): Result<ClientFrame, 'INVALID_PARAM'> => {
  const put = readPutFrame(text)
  if (put !== null) {
    return shortText(put.sequenceToken) ? ok(put) : fail('INVALID_PARAM', 'put needs sequence_token')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    // Safe: JSON.parse throws only a SyntaxError on a frame that is not JSON: bad input, answered as a Result.
    return fail('INVALID_PARAM', 'not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('INVALID_PARAM', 'not an object')
  if (!nestingWithin(value)) return fail('INVALID_PARAM', 'nested too deeply')
  const v = value as Record<string, unknown>
  switch (v.type) {
    case 'hello':
      if (v.secret === undefined || v.secret === null) return ok({ type: 'hello', secret: null })
      return shortText(v.secret) ? ok({ type: 'hello', secret: v.secret }) : fail('INVALID_PARAM', 'bad secret')
    case 'put':
      if (!shortText(v.sequence_token)) return fail('INVALID_PARAM', 'put needs sequence_token')
      if (typeof v.data !== 'string') return fail('INVALID_PARAM', 'put needs data')
      return ok({ type: 'put', sequenceToken: v.sequence_token, data: v.data })
    case 'ping':
      return ok({ type: 'ping' })
    case 'delete':
      return ok({ type: 'delete' })
    case 'abort': {
      const reason = v.reason ?? 'user_cancelled'
      return ABORT_REASONS.includes(reason as AbortReason)
        ? ok({ type: 'abort', reason: reason as AbortReason })
        : fail('INVALID_PARAM', 'bad abort reason')
    }
    default:
      return fail('INVALID_PARAM', 'unknown type')
  }
}

/** A string JSON writes as it is between quotes: no quote, backslash, control character or surrogate. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what JSON escapes
const VERBATIM = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/

/**
 * `JSON.stringify(text)`: the text between quotes when JSON would write it so (a compiled test of the
 * whole string, ≈ 5 × faster than `JSON.stringify` on a payload of 100 characters), else `JSON.stringify`.
 * A surrogate, even of a well-formed pair, takes the latter: it alone knows the lone ones.
 *
 * @example
 * jsonString('ab') // '"ab"'
 * jsonString('a"b') // '"a\\"b"'
 */
export const jsonString = (text: string): string => (VERBATIM.test(text) ? `"${text}"` : JSON.stringify(text))

/**
 * The wire text of a server frame: what `JSON.stringify` writes of its wire object (the frequent
 * ones written by concatenation, each string through {@link jsonString}, without building the object).
 *
 * @example
 * encodeServerFrame({ type: 'ack', sequenceToken: 't2' }) // '{"type":"ack","sequence_token":"t2"}'
 */
export const encodeServerFrame = (frame: ServerFrame): string => {
  switch (frame.type) {
    case 'welcome': {
      const wire: Record<string, unknown> = { type: 'welcome', role: frame.role }
      if (frame.joinerSecret !== undefined) wire.joiner_secret = frame.joinerSecret
      wire.data = frame.data
      wire.sequence_token = frame.sequenceToken
      wire.expires_in_ms = frame.expiresInMs
      return JSON.stringify(wire)
    }
    case 'ack':
      return `{"type":"ack","sequence_token":${jsonString(frame.sequenceToken)}}`
    case 'conflict':
      return `{"type":"conflict","sequence_token":${jsonString(frame.sequenceToken)}}`
    case 'data':
      return `{"type":"data","data":${jsonString(frame.data)},"sequence_token":${jsonString(frame.sequenceToken)}}`
    case 'pong':
      return '{"type":"pong"}'
    default: {
      const never: never = frame
      return never
    }
  }
}
