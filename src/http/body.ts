/**
 * Request bodies read with a hard byte cap: an oversized `Content-Length` is refused before a byte is
 * read, and a body without one (chunked) is cut off as soon as it passes the cap.
 */
import { RelayError } from '../core/errors.ts'
import { MAX_JSON_DEPTH, nestingWithin } from '../core/json/nesting.ts'

/** Header checks that come before reading: a declared length over `maxBytes` is refused at once. */
export const checkDeclaredLength = (request: Request, maxBytes: number, required: boolean): void => {
  const declared = request.headers.get('content-length')
  if (declared === null) {
    if (required) throw new RelayError('MISSING_PARAM', { detail: 'Content-Length is required' })
    return
  }
  if (!/^\d+$/.test(declared)) throw new RelayError('INVALID_PARAM', { detail: 'Content-Length is malformed' })
  if (Number(declared) > maxBytes) throw new RelayError('PAYLOAD_TOO_LARGE', { detail: `body exceeds ${maxBytes} bytes` })
}

/** Reads at most `maxBytes` of the body as UTF-8 text; PAYLOAD_TOO_LARGE past that, INVALID_PARAM on bad UTF-8. */
export const readTextCapped = async (request: Request, maxBytes: number): Promise<string> => {
  checkDeclaredLength(request, maxBytes, false)
  // A declared length is already known to be within the cap: read it in one go. On Node this is
  // @hono/node-server's fast path, straight from the socket; touching `request.body` instead would
  // build a full WHATWG Request with streams and an AbortSignal, a large share of a relay request.
  // Only a body of unknown length (chunked) is read piece by piece and cut off at the cap.
  const declared = request.headers.get('content-length')
  if (declared !== null) return declared === '0' ? '' : decodeUtf8(new Uint8Array(await request.arrayBuffer()), maxBytes)
  if (request.body === null) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > maxBytes) {
      // Cancelling only frees the stream early; if it fails the answer is the same 413.
      await reader.cancel().catch(() => {})
      throw new RelayError('PAYLOAD_TOO_LARGE', { detail: `body exceeds ${maxBytes} bytes` })
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return decodeUtf8(bytes, maxBytes)
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** Decodes a body, refusing more than `maxBytes` (a lying Content-Length) and invalid UTF-8. */
export const decodeUtf8 = (bytes: Uint8Array, maxBytes: number): string => {
  if (bytes.byteLength > maxBytes) throw new RelayError('PAYLOAD_TOO_LARGE', { detail: `body exceeds ${maxBytes} bytes` })
  try {
    return strictUtf8.decode(bytes)
  } catch {
    throw new RelayError('INVALID_PARAM', { detail: 'body is not valid UTF-8' })
  }
}

/** The media type of a Content-Type header, lower-cased, without parameters ('' when absent). */
export const mediaTypeOf = (request: Request): string => (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()

/** The charset parameter of a Content-Type header, lower-cased, or undefined. */
export const charsetOf = (request: Request): string | undefined => {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(request.headers.get('content-type') ?? '')
  return match?.[1]?.toLowerCase()
}

/**
 * Reads a JSON object body of at most `maxBytes` with `Content-Type: application/json`, nested at most
 * {@link MAX_JSON_DEPTH} deep (so nothing that walks it later can overflow the stack).
 * Errors: NOT_JSON (wrong type, unparsable, too deeply nested, or not an object), PAYLOAD_TOO_LARGE.
 */
export const readJsonObject = async (request: Request, maxBytes: number): Promise<Record<string, unknown>> => {
  checkJsonType(request)
  return jsonObjectOf(await readTextCapped(request, maxBytes))
}

/** The check {@link readJsonObject} makes before reading: the body is declared JSON. Errors: NOT_JSON. */
export const checkJsonType = (request: Request): void => {
  if (mediaTypeOf(request) !== 'application/json') {
    throw new RelayError('NOT_JSON', { detail: 'Content-Type must be application/json' })
  }
}

/** The JSON object `text` holds, as {@link readJsonObject} takes it (after its checks of the request). Errors: NOT_JSON. */
export const jsonObjectOf = (text: string): Record<string, unknown> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new RelayError('NOT_JSON', { detail: 'body is not valid JSON' })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RelayError('NOT_JSON', { detail: 'body must be a JSON object' })
  }
  if (!nestingWithin(value, MAX_JSON_DEPTH)) {
    throw new RelayError('NOT_JSON', { detail: `body nests deeper than ${MAX_JSON_DEPTH} levels` })
  }
  return value as Record<string, unknown>
}
