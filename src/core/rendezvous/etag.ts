/**
 * HTTP entity tags for the MSC4108 2024 API: strong, quoted, single. Proxies that compress or chunk
 * may weaken an ETag (`W/`), and a weak or listed ETag in `If-Match` is refused as malformed.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
 */
import { fail, ok, type Result } from '../errors.ts'

const ETAG = /^"([\x21\x23-\x7e]*)"$/

/** The strong ETag header value for a write token. */
export const formatEtag = (token: string): string => `"${token}"`

/**
 * Parses a required `If-Match`: exactly one strong quoted ETag. Returns the token inside the quotes.
 * Errors: MISSING_PARAM (absent), INVALID_PARAM (weak, a list, `*`, or unquoted).
 */
export const parseIfMatch = (header: string | undefined): Result<string, 'MISSING_PARAM' | 'INVALID_PARAM'> => {
  if (header === undefined || header.trim() === '') return fail('MISSING_PARAM', 'If-Match is required')
  const match = ETAG.exec(header.trim())
  if (!match) return fail('INVALID_PARAM', 'If-Match must be a single strong ETag')
  return ok(match[1] as string)
}

/**
 * Evaluates an optional `If-None-Match` against the current token: true when the client already has
 * this version (answer 304). Accepts `*` and comma-separated lists; weak tags compare weakly, as
 * RFC 9110 says for If-None-Match. Errors: INVALID_PARAM on a malformed header.
 */
export const ifNoneMatchHits = (header: string | undefined, token: string): Result<boolean, 'INVALID_PARAM'> => {
  if (header === undefined || header.trim() === '') return ok(false)
  const value = header.trim()
  if (value === '*') return ok(true)
  for (const raw of value.split(',')) {
    const part = raw.trim()
    const tag = ETAG.exec(part.startsWith('W/') ? part.slice(2) : part)
    if (!tag) return fail('INVALID_PARAM', 'If-None-Match is malformed')
    if (tag[1] === token) return ok(true)
  }
  return ok(false)
}
