/**
 * The composed `limitAndGet` of a store without its own (the memory store): the hit and the read go
 * out together, the hit decides first, and a failed read is only thrown when the hit is admitted (it
 * is never left as an unhandled rejection, however long the hit takes).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import type { ChannelLimit, EphemeralStore } from '../../../src/ports.ts'
import { fusedChannelOps } from '../../../src/services/channel-limits.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const limit = (capacity: number): ChannelLimit => ({
  key: 'read:x',
  windowIndex: 1,
  ttlMs: 60_000,
  budget: { capacity, previousWeight: 0, currentWeight: 1 },
})

/** A memory store whose read fails, and whose hit takes `hitDelayMs` (or fails when `hitFails`). */
const storeWith = (hitDelayMs: number, hitFails = false): { store: EphemeralStore; calls: string[] } => {
  const base = memoryStore({ clock: fakeClock(), sweepIntervalMs: 0 })
  const calls: string[] = []
  const store: EphemeralStore = {
    ...base,
    counters: {
      ...base.counters,
      hitWindow: async (key, index, ttlMs) => {
        calls.push('hit')
        await new Promise((resolve) => setTimeout(resolve, hitDelayMs))
        if (hitFails) throw new Error('hit failed')
        return base.counters.hitWindow(key, index, ttlMs)
      },
    },
    channels: {
      ...base.channels,
      get: async () => {
        calls.push('get')
        throw new Error('read failed')
      },
    },
  }
  return { store, calls }
}

describe('the composed limitAndGet', () => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => void unhandled.push(reason)
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled)
    unhandled.length = 0
  })

  it('counts first, refuses without the failed read, throws the read only when admitted, and leaves nothing unhandled', async () => {
    process.on('unhandledRejection', onUnhandled)
    const { store, calls } = storeWith(20)
    const ops = fusedChannelOps(store)
    await expect(ops.limitAndGet('x', limit(1))).rejects.toThrow('read failed')
    expect(await ops.limitAndGet('x', limit(1))).toEqual({ admitted: false, counts: { current: 2, previous: 0 } })
    expect(calls).toEqual(['hit', 'get', 'hit', 'get'])
    const failing = fusedChannelOps(storeWith(20, true).store)
    await expect(failing.limitAndGet('x', limit(1))).rejects.toThrow('hit failed')
    // Long enough for Node to report a rejection nobody handled.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(unhandled).toEqual([])
  })
})
