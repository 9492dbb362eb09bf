import { describe, expect, it } from 'vitest'
import type { Logger, SecurityStateStore } from '../../../src/ports.ts'
import { accountEvents } from '../../../src/services/account-events.ts'

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
})
