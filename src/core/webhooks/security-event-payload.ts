/**
 * The webhook body of a security event, in the Standard Webhooks payload shape
 * (`{ type, timestamp, data }`, snake_case fields). Only public facts: the event type, the account,
 * the device, the time and the event's details; never a token, code or password.
 *
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#payload-structure
 */
import type { SecurityEvent } from '../../ports.ts'

/** Prefix of the `type` of every security-event webhook (`security.password_changed`, …). */
export const SECURITY_EVENT_TYPE_PREFIX = 'security.'

/**
 * The JSON body for `event` of `accountId`.
 *
 * @example
 * securityEventPayload('alice', { type: 'password_changed', atMs: 0, deviceId: 'D1' })
 * // '{"type":"security.password_changed","timestamp":"1970-01-01T00:00:00.000Z","data":{…}}'
 */
export const securityEventPayload = (accountId: string, event: SecurityEvent): string =>
  JSON.stringify({
    type: `${SECURITY_EVENT_TYPE_PREFIX}${event.type}`,
    timestamp: new Date(event.atMs).toISOString(),
    data: {
      account_id: accountId,
      ...(event.deviceId === undefined ? {} : { device_id: event.deviceId }),
      at_ms: event.atMs,
      details: event.details ?? {},
    },
  })
