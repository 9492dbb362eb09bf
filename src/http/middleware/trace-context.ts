/**
 * The request id and trace id a trusted proxy hands on: `X-Request-Id` and the W3C `traceparent`
 * header, checked before use. A value of the wrong shape is dropped (the caller then generates an id),
 * and never logged: it is whatever a client sent.
 *
 * @see https://www.w3.org/TR/trace-context/#traceparent-header
 */

/** The longest `X-Request-Id` taken as it is. */
export const MAX_REQUEST_ID_CHARS = 128

/** Letters, digits and `_ - . : / + = @ ~`: UUIDs, hex, base64 and the usual proxy formats. */
const REQUEST_ID = /^[A-Za-z0-9_\-.:/+=@~]+$/

/** `version-traceid-parentid-flags`, lower-case hex; later versions may append `-…` fields. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?$/

/** The longest `traceparent` looked at (version 00 is 55 characters; later versions may add fields). */
const MAX_TRACEPARENT_CHARS = 256

const ALL_ZERO_TRACE = '0'.repeat(32)
const ALL_ZERO_PARENT = '0'.repeat(16)

/**
 * The request id `value` when it is 1 to {@link MAX_REQUEST_ID_CHARS} characters of the safe set,
 * else undefined.
 *
 * @example
 * requestIdOf('7f3c9a2e-1b4d-4e8f-9a6b-2c1d0e9f8a7b') // the same
 * requestIdOf('a b') // undefined
 */
export const requestIdOf = (value: string | undefined): string | undefined =>
  value !== undefined && value.length > 0 && value.length <= MAX_REQUEST_ID_CHARS && REQUEST_ID.test(value) ? value : undefined

/**
 * The trace id of a `traceparent` header, or undefined when the header is absent or invalid per
 * W3C Trace Context §3.2 (version `ff`, an all-zero trace or parent id, version 00 with extra fields).
 *
 * @example
 * traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01') // '4bf92f3577b34da6a3ce929d0e0e4736'
 */
export const traceIdOf = (value: string | undefined): string | undefined => {
  if (value === undefined || value.length > MAX_TRACEPARENT_CHARS) return undefined
  const match = TRACEPARENT.exec(value.trim())
  if (match === null) return undefined
  const [, version, traceId, parentId, , rest] = match
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined
  if (traceId === ALL_ZERO_TRACE || parentId === ALL_ZERO_PARENT) return undefined
  return traceId
}
