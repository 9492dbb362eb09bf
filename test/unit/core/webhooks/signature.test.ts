import { describe, expect, it } from 'vitest'
import vectors from '../../../vectors/standard-webhooks.json' with { type: 'json' }
import {
  parseWebhookSecret,
  signWebhook,
  verifyWebhook,
  webhookHeaders,
  type WebhookHeaders,
} from '../../../../src/core/webhooks/signature.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'
import { base64 } from '@scure/base'

const [vector] = vectors.cases as [(typeof vectors.cases)[number]]
const key = parseWebhookSecret(vector.secret) as Uint8Array
const headersOf = (signature = vector.signature, timestamp = String(vector.timestamp_seconds)): WebhookHeaders => ({
  'webhook-id': vector.id,
  'webhook-timestamp': timestamp,
  'webhook-signature': signature,
})
const AT_MS = vector.timestamp_seconds * 1000

describe('Standard Webhooks signature', () => {
  it('reproduces the published signature vector', () => {
    expect(key).toHaveLength(24)
    expect(signWebhook(key, vector.id, vector.timestamp_seconds, vector.body)).toBe(vector.signature)
    expect(webhookHeaders(key, vector.id, AT_MS + 999, vector.body)).toEqual(headersOf())
  })

  it('verifies the published vector, alone or among other signatures', () => {
    expect(verifyWebhook(key, headersOf(), vector.body, AT_MS)).toBe(true)
    expect(verifyWebhook(key, headersOf(`v1,bm9wZQ== ${vector.signature}`), vector.body, AT_MS)).toBe(true)
  })

  it('refuses a changed body, id, signature, or another key', () => {
    expect(verifyWebhook(key, headersOf(), vector.body.replace('2432232314', '2432232315'), AT_MS)).toBe(false)
    expect(verifyWebhook(key, { ...headersOf(), 'webhook-id': 'msg_other' }, vector.body, AT_MS)).toBe(false)
    const flipped = vector.signature.replace('g0hM', 'g0hN')
    expect(verifyWebhook(key, headersOf(flipped), vector.body, AT_MS)).toBe(false)
    expect(verifyWebhook(key, headersOf(vector.signature.replace('v1,', 'v1a,')), vector.body, AT_MS)).toBe(false)
    const otherKey = seededRandom(1).bytes(32)
    expect(verifyWebhook(otherKey, headersOf(), vector.body, AT_MS)).toBe(false)
  })

  it('refuses a timestamp outside the tolerance, or not a number', () => {
    expect(verifyWebhook(key, headersOf(), vector.body, AT_MS + 300_000)).toBe(true)
    expect(verifyWebhook(key, headersOf(), vector.body, AT_MS + 301_000)).toBe(false)
    expect(verifyWebhook(key, headersOf(), vector.body, AT_MS - 301_000)).toBe(false)
    expect(verifyWebhook(key, headersOf(undefined, '1614265330.0'), vector.body, AT_MS)).toBe(false)
  })

  it('reads whsec_ secrets of 24 to 64 bytes in canonical base64 only', () => {
    const secretOf = (n: number): string => `whsec_${base64.encode(seededRandom(n).bytes(n))}`
    expect(parseWebhookSecret(secretOf(24))).toHaveLength(24)
    expect(parseWebhookSecret(secretOf(64))).toHaveLength(64)
    expect(parseWebhookSecret(secretOf(23))).toBeNull()
    expect(parseWebhookSecret(secretOf(65))).toBeNull()
    expect(parseWebhookSecret(vector.secret.slice('whsec_'.length))).toBeNull()
    expect(parseWebhookSecret('whsec_not base64!')).toBeNull()
    expect(parseWebhookSecret(`${secretOf(32)}x`)).toBeNull()
  })
})
