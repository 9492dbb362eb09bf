/**
 * The Durable Object store's channel creation under a race of two creates of one id, with the
 * interleaving forced (fake objects, one create held at the channel object): the call that made the
 * reservation loses the channel to the call that found it held. The reservation is then the live
 * channel's place and must stay, or the live-channel cap no longer counts that channel (finding 22).
 * The workerd conformance suite runs the same race unforced and saw it fail now and then.
 */
import { describe, expect, it } from 'vitest'
import {
  type ChannelObjectApi,
  type CounterObjectApi,
  durableObjectStore,
  type ReserveOutcome,
} from '../../../src/adapters/storage/durable-object.ts'
import { createChannel, type ChannelRecord } from '../../../src/core/rendezvous/channel.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

/** One shard object: the reservations only (what create and liveCount use; nothing else is called). */
const fakeShard = (): CounterObjectApi => {
  const places = new Map<string, number>()
  const live = (now: number) => [...places.values()].filter((expiresAt) => expiresAt > now).length
  const used: Partial<CounterObjectApi> = {
    async reserve(id, expiresAtMs, nowMs, maxLive): Promise<ReserveOutcome> {
      if ((places.get(id) ?? 0) > nowMs) return 'held'
      if (live(nowMs) >= maxLive) return 'capacity'
      places.set(id, expiresAtMs)
      return 'ok'
    },
    async release(id) {
      places.delete(id)
    },
    liveCount: async (nowMs) => live(nowMs),
  }
  return used as CounterObjectApi
}

describe('durableObjectStore: two creates of one id racing', () => {
  it('keeps the reservation when the call that made it finds the channel created by the other', async () => {
    const clock = fakeClock()
    const shard = fakeShard()
    const records = new Map<string, ChannelRecord>()
    let holdFirst: (() => void) | undefined
    let calls = 0
    const channelObject: ChannelObjectApi = {
      async create(record, _reservedIn, nowMs) {
        // The first caller (the one that reserved) reaches the channel object last.
        if (calls++ === 0) await new Promise<void>((resolve) => (holdFirst = resolve))
        const there = records.get(record.id)
        if (there !== undefined && there.expiresAtMs > nowMs) return 'exists'
        records.set(record.id, record)
        return 'ok'
      },
      get: async () => null,
      replaceIfMatch: async () => 'missing',
      takeOnce: async () => null,
    }
    const store = durableObjectStore({
      channels: { getByName: () => channelObject },
      counters: { getByName: () => shard },
      clock,
      shards: 1,
    })
    const record = createChannel({ id: 'race-1', api: 'msc4388', data: '', now: clock.now(), ttlMs: 120_000 })
    const first = store.channels.create(record, 10)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(holdFirst).toBeDefined()
    const second = await store.channels.create(record, 10)
    holdFirst?.()
    expect([await first, second]).toEqual(['exists', 'ok'])
    expect(await store.channels.liveCount()).toBe(1)
  })
})
