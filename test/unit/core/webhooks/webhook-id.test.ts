import { describe, expect, it } from 'vitest'
import { naturalWebhookId } from '../../../../src/core/webhooks/webhook-id.ts'
import type { SecurityEvent } from '../../../../src/ports.ts'

const signedIn = (deviceId: string, atMs = 0): SecurityEvent => ({
  type: 'device_signed_in',
  atMs,
  deviceId,
  details: { origin: 'qr', approved_by: 'D0', device_name: 'Laptop' },
})

describe('naturalWebhookId', () => {
  it('derives the id of a device_signed_in from account and device: the same however often, whenever told', () => {
    const id = naturalWebhookId('alice', signedIn('D1'))
    expect(id).toMatch(/^msg_[A-Za-z0-9_-]{22}$/)
    expect(naturalWebhookId('alice', signedIn('D1', 99_000))).toBe(id)
  })

  it('differs across devices and across accounts, and reveals neither', () => {
    const id = naturalWebhookId('alice', signedIn('D1')) as string
    expect(naturalWebhookId('alice', signedIn('D2'))).not.toBe(id)
    expect(naturalWebhookId('bob', signedIn('D1'))).not.toBe(id)
    // No field can slide into another: the parts are encoded unambiguously.
    expect(naturalWebhookId('a', signedIn('bD1'))).not.toBe(naturalWebhookId('ab', signedIn('D1')))
    expect(id).not.toContain('alice')
    expect(id).not.toContain('D1')
  })

  it('gives no id to events without a natural identity', () => {
    expect(naturalWebhookId('alice', { type: 'password_changed', atMs: 0, deviceId: 'D1' })).toBeNull()
    expect(naturalWebhookId('alice', { type: 'device_not_me', atMs: 0, deviceId: 'D1' })).toBeNull()
    expect(naturalWebhookId('alice', { type: 'device_signed_in', atMs: 0 })).toBeNull()
  })
})
