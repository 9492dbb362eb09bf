/**
 * The `webhook-id` of a security event's message. An event with a natural identity (a device signs in
 * once) gets an id derived from it, so telling the sinks of it twice (a retry that hands out a session
 * whose first telling was lost to a crash) enqueues one message: the outbox's enqueue is idempotent
 * on the id. Every other event gets a fresh random id.
 *
 * @see docs/webhooks.md
 */
import { sha256 } from '@noble/hashes/sha2.js'
import type { SecurityEvent } from '../../ports.ts'
import { toBase64Url } from '../crypto/secrets.ts'

const encoder = new TextEncoder()

/** Domain of the derived ids: never the same bytes as any other hash of qrelay. */
const DOMAIN = 'qrelay webhook-id v1'

/**
 * The derived id of `event` of `accountId` (`msg_` and 128 bits of SHA-256, base64url, as long as a
 * random one), or null when the event has no natural identity. Only public facts go in (the account,
 * the event type, the device id), never a bearer value.
 *
 * @example
 * naturalWebhookId('alice', { type: 'device_signed_in', atMs: 0, deviceId: 'D1' }) // 'msg_…' (22 characters after the prefix)
 * naturalWebhookId('alice', { type: 'password_changed', atMs: 0 }) // null
 */
export const naturalWebhookId = (accountId: string, event: SecurityEvent): string | null => {
  if (event.type !== 'device_signed_in' || event.deviceId === undefined) return null
  // JSON of an array: no separator a field could contain.
  const digest = sha256(encoder.encode(JSON.stringify([DOMAIN, accountId, event.type, event.deviceId])))
  return `msg_${toBase64Url(digest.subarray(0, 16))}`
}
