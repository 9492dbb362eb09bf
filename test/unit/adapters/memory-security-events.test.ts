import { describe, expect, it } from 'vitest'
import { memorySecurityEvents } from '../../../src/adapters/events/memory.ts'

describe('memorySecurityEvents', () => {
  it('records events per account in order, as copies', async () => {
    const events = memorySecurityEvents()
    const event = { type: 'recovery_code_used' as const, atMs: 1, details: { codes_left: 9 } }
    await events.emit('a', event)
    await events.emit('a', { type: 'password_changed', atMs: 2 })
    await events.emit('b', { type: 'totp_enabled', atMs: 3 })
    event.details.codes_left = 0
    expect(events.list('a')).toEqual([
      { type: 'recovery_code_used', atMs: 1, details: { codes_left: 9 } },
      { type: 'password_changed', atMs: 2 },
    ])
    expect(events.list('b').map((e) => e.type)).toEqual(['totp_enabled'])
    expect(events.list('nobody')).toEqual([])
  })

  it('keeps only the newest events when an account has more than the bound', async () => {
    const events = memorySecurityEvents(3)
    for (let i = 0; i < 5; i++) await events.emit('a', { type: 'password_changed', atMs: i })
    expect(events.list('a').map((e) => e.atMs)).toEqual([2, 3, 4])
  })
})
