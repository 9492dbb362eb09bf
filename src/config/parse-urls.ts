/**
 * The parsers of URL settings: the public base URL, and the webhook target (the Redis URL: `parse-redis.ts`). Blank
 * text means unset (undefined).
 */
import type { Parser } from './knob.ts'

/** `new URL(text)`, or null when `text` is not an absolute URL. */
const absoluteUrl = (text: string): URL | null => {
  try {
    return new URL(text)
  } catch {
    // The URL constructor's TypeError only says the text is not an absolute URL: the caller reports that.
    return null
  }
}

/** An http(s) origin with an optional path prefix, trailing slashes dropped. */
export const publicBaseUrl: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  const u = absoluteUrl(raw.trim())
  if (u === null) return { problem: `must be an absolute URL, got "${raw}"` }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { problem: 'must be an http(s) URL' }
  return { value: u.href.replace(/\/+$/, '') }
}

/** An http(s) URL without credentials (they would travel in every delivery's logs). */
export const webhookUrl: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  const u = absoluteUrl(raw.trim())
  if (u === null) return { problem: 'must be an absolute URL' }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { problem: 'must be an http(s) URL' }
  return u.username === '' && u.password === '' ? { value: u.href } : { problem: 'must not carry credentials' }
}
