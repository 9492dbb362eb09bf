/**
 * Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`
 * with the key given as `whsec_<base64>`, timestamps in whole seconds, and a verifier that accepts any
 * one of several space-separated signatures within a tolerance of the timestamp.
 *
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { base64 } from '../encoding/radix.ts'
import { equalConstantTime } from '../crypto/secrets.ts'

const encoder = new TextEncoder()
const SECRET_PREFIX = 'whsec_'
/** The spec asks for secrets of 24 to 64 random bytes. */
export const WEBHOOK_SECRET_MIN_BYTES = 24
export const WEBHOOK_SECRET_MAX_BYTES = 64
/** How far a timestamp may be from now for the verifier to accept it (the spec's 5 minutes). */
export const WEBHOOK_TOLERANCE_SECONDS = 300

/** The three headers a signed webhook carries. */
export interface WebhookHeaders {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
}

/**
 * Reads a `whsec_<base64>` secret into its key bytes; null unless the prefix is there and the rest is
 * canonical padded base64 of 24 to 64 bytes.
 *
 * @example
 * parseWebhookSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw') // 24 bytes
 */
export const parseWebhookSecret = (secret: string): Uint8Array | null => {
  if (!secret.startsWith(SECRET_PREFIX)) return null
  const text = secret.slice(SECRET_PREFIX.length)
  let key: Uint8Array
  try {
    key = base64.decode(text)
  } catch {
    // Safe: the decoder throws only on text that is not base64, which this function reports as null.
    return null
  }
  if (base64.encode(key) !== text) return null
  return key.length >= WEBHOOK_SECRET_MIN_BYTES && key.length <= WEBHOOK_SECRET_MAX_BYTES ? key : null
}

/**
 * The `v1,<base64>` signature of one message: HMAC-SHA256 over `id.timestampSeconds.body`.
 *
 * @example
 * signWebhook(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')
 * // 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
 */
export const signWebhook = (key: Uint8Array, id: string, timestampSeconds: number, body: string): string =>
  `v1,${base64.encode(hmac(sha256, key, encoder.encode(`${id}.${timestampSeconds}.${body}`)))}`

/**
 * The headers of one delivery attempt: the message id, the attempt's time (whole seconds) and its signature.
 *
 * @example
 * const headers = webhookHeaders(key, message.id, clock.now(), message.body)
 */
export const webhookHeaders = (key: Uint8Array, id: string, nowMs: number, body: string): WebhookHeaders => {
  const timestampSeconds = Math.floor(nowMs / 1000)
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signWebhook(key, id, timestampSeconds, body),
  }
}

/**
 * True when one of the `v1,` signatures in `headers` is the message's, and its timestamp is within
 * `toleranceSeconds` of `nowMs`. Compares in constant time.
 *
 * @example
 * verifyWebhook(key, headers, rawBody, clock.now()) // true or false
 */
export const verifyWebhook = (
  key: Uint8Array,
  headers: WebhookHeaders,
  body: string,
  nowMs: number,
  toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS,
): boolean => {
  const timestamp = headers['webhook-timestamp']
  if (!/^\d{1,15}$/.test(timestamp)) return false
  const timestampSeconds = Number(timestamp)
  if (Math.abs(Math.floor(nowMs / 1000) - timestampSeconds) > toleranceSeconds) return false
  const expected = signWebhook(key, headers['webhook-id'], timestampSeconds, body)
  let found = false
  for (const candidate of headers['webhook-signature'].split(' ')) {
    // Every candidate is compared, so the time does not tell which one matched.
    if (equalConstantTime(candidate, expected)) found = true
  }
  return found
}
