import { describe, expect, it } from 'vitest'
import { createChannel, writeChannel } from '../../../src/core/rendezvous/channel.ts'
describe('smoke', () => {
  it('writes', () => {
    const r = createChannel({ id: 'a', api: 'msc4388', data: '', now: 0, ttlMs: 1000 })
    const w = writeChannel(r, { data: 'x', expectedToken: r.token, now: 1, idempotentRetry: true })
    expect(w.ok).toBe(true)
  })
})
