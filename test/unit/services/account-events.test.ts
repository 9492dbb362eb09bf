import { describe, expect, it } from 'vitest'
import type { Logger, SecurityEvent, SecurityEvents, SecurityStateStore, StoredSecurityEvent } from '../../../src/ports.ts'
import { accountEvents, fanOutSecurityEvents } from '../../../src/services/account-events.ts'

const recordingLogger = () => {
  const warnings: { fields: Record<string, unknown>; message: string }[] = []
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (fields, message) => void warnings.push({ fields, message }),
    error: () => {},
    child: () => logger,
  }
  return { logger, warnings }
}

const failingSecurity: SecurityStateStore = {
  markAuthenticated: () => Promise.resolve(false),
  lastAuthenticated: () => Promise.resolve(null),
  appendEvent: () => Promise.reject(new Error('disk full at /var/lib/qrelay')),
  readEvents: () => Promise.resolve([]),
}

describe('accountEvents', () => {
  it('never fails the action it reports when the store fails, and logs the failure without its message', async () => {
    const { logger, warnings } = recordingLogger()
    const feed = accountEvents({ security: failingSecurity, logger })
    await expect(feed.emit('acct', { type: 'password_changed', atMs: 1 })).resolves.toBeUndefined()
    expect(warnings).toEqual([
      {
        message: 'security event not stored',
        fields: expect.objectContaining({ eventType: 'password_changed', err: expect.objectContaining({ class: 'Error' }) }),
      },
    ])
    expect(JSON.stringify(warnings)).not.toContain('/var/lib')
  })

  it('still swallows the failure without a logger', async () => {
    const feed = accountEvents({ security: failingSecurity })
    await expect(feed.emit('acct', { type: 'totp_enabled', atMs: 1 })).resolves.toBeUndefined()
  })

  it('stored: wakes the readers without appending again, and says its bounds', async () => {
    // The store holds the event once its writer's step is done (as createWithTokens appends it).
    const held: StoredSecurityEvent[] = []
    const security: SecurityStateStore = {
      ...failingSecurity,
      appendEvent: () => Promise.reject(new Error('appended twice')),
      readEvents: async (_account, since) => held.filter((e) => e.id > since),
    }
    const feed = accountEvents({ security, limits: { maxEvents: 7, retentionMs: 60_000 } })
    expect(feed.feedBounds).toEqual({ maxEvents: 7, retentionMs: 60_000 })
    const started = Date.now()
    const waiting = feed.waitSince('acct', 0, 10, 20_000)
    // The reader is waiting (its first read done) before the event is told.
    await new Promise((resolve) => setTimeout(resolve, 20))
    held.push({ id: 1, type: 'device_signed_in', atMs: 1 })
    await feed.stored('acct', { type: 'device_signed_in', atMs: 1 })
    expect(await waiting).toEqual(held)
    // Woken at once (its re-read of the store comes every 500 ms), not at the end of its 20 s.
    expect(Date.now() - started).toBeLessThan(5_000)
  })
})

describe('fanOutSecurityEvents', () => {
  it('stored: tells a sink that has it through it, and emits to the others', async () => {
    const heard: string[] = []
    const sink = (name: string, withStored: boolean): SecurityEvents => ({
      emit: async (_account, event) => void heard.push(`${name}.emit ${event.type}`),
      ...(withStored ? { stored: async (_account: string, event: SecurityEvent) => void heard.push(`${name}.stored ${event.type}`) } : {}),
    })
    const feed = { ...sink('feed', true), feedBounds: { maxEvents: 5, retentionMs: 1000 } }
    const events = fanOutSecurityEvents(feed, sink('webhooks', false))
    expect(events.feedBounds).toEqual({ maxEvents: 5, retentionMs: 1000 })
    expect(fanOutSecurityEvents(sink('webhooks', false)).feedBounds).toBeUndefined()
    await events.stored?.('acct', { type: 'device_signed_in', atMs: 1 })
    await events.emit('acct', { type: 'password_changed', atMs: 2 })
    expect(heard).toEqual([
      'feed.stored device_signed_in',
      'webhooks.emit device_signed_in',
      'feed.emit password_changed',
      'webhooks.emit password_changed',
    ])
  })
})
