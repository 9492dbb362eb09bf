/**
 * The counter shard's sweep alarm: armed by the first counter it holds, and armed again after a call to
 * set it failed (a storage error). A flag kept in memory said "armed" after the failure, so the shard never
 * armed its sweep again until the runtime made the object anew: its expired rows were never freed.
 */
import { env } from 'cloudflare:workers'
import { runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'

describe('the counter shard sweep', () => {
  it('arms its alarm again after setting it failed once', async () => {
    const stub = env.RELAY_COUNTER.getByName('shard:sweep-test')
    await runInDurableObject(stub, async (instance, state) => {
      const shard = instance as unknown as { increment(key: string, ttlMs: number, nowMs: number): Promise<number> }
      const storage = state.storage as unknown as { setAlarm: (at: number) => Promise<void> }
      const setAlarm = storage.setAlarm.bind(storage)
      storage.setAlarm = () => Promise.reject(new Error('storage unavailable'))
      await expect(shard.increment('rl:a', 60_000, Date.now())).rejects.toThrow('storage unavailable')
      storage.setAlarm = setAlarm
      expect(await state.storage.getAlarm()).toBeNull()
      await shard.increment('rl:b', 60_000, Date.now())
      expect(await state.storage.getAlarm()).not.toBeNull()
    })
  })
})
