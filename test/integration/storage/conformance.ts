/**
 * The contract of the ephemeral store ports, run against every adapter: `describeEphemeralStore(name,
 * make)` where `make(clock)` returns a fresh, empty store. Expiry is tested with the store's clock
 * moved past the TTL: a record past its expiry must be gone whatever any sweeper does.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createChannel, type ChannelRecord } from '../../../src/core/rendezvous/channel.ts'
import { writeChannel } from '../../../src/core/rendezvous/channel.ts'
import type { EphemeralStore } from '../../../src/ports.ts'
import { fakeClock, type FakeClock } from '../../helpers/fake-clock.ts'
import { describeFusedIntents } from './fused-conformance.ts'

export type MakeStore = (clock: FakeClock) => Promise<EphemeralStore> | EphemeralStore

let serial = 0
const newRecord = (clock: FakeClock, ttlMs = 120_000, data = ''): ChannelRecord =>
  createChannel({ id: `conf-${Date.now().toString(36)}-${serial++}`, api: 'msc4388', data, now: clock.now(), ttlMs })

const written = (record: ChannelRecord, data: string, now: number): ChannelRecord => {
  const next = writeChannel(record, { data, expectedToken: record.token, now, idempotentRetry: false })
  if (!next.ok) throw new Error('unexpected')
  return next.value.record
}

export const describeEphemeralStore = (name: string, make: MakeStore): void => {
  describe(`EphemeralStore conformance: ${name}`, () => {
    let clock: FakeClock
    let store: EphemeralStore

    beforeEach(async () => {
      // Real wall-clock start so that Redis PEXPIREAT (which uses the server's clock) agrees.
      clock = fakeClock(Date.now())
      store = await make(clock)
    })
    afterEach(async () => {
      await store.close()
    })

    describe('channels', () => {
      it('creates and reads back an identical record', async () => {
        const record = newRecord(clock, 120_000, 'héllo ✓')
        expect(await store.channels.create(record, 1000)).toBe('ok')
        expect(await store.channels.get(record.id)).toEqual(record)
      })

      it('returns null for an unknown id', async () => {
        expect(await store.channels.get('never-created')).toBeNull()
      })

      it('refuses to create an id twice', async () => {
        const record = newRecord(clock)
        expect(await store.channels.create(record, 1000)).toBe('ok')
        expect(await store.channels.create({ ...record, data: 'other' }, 1000)).toBe('exists')
        expect((await store.channels.get(record.id))?.data).toBe('')
      })

      it('hides a record once its expiry has passed, sweeper or not', async () => {
        const record = newRecord(clock, 60_000)
        await store.channels.create(record, 1000)
        clock.advance(59_999)
        expect(await store.channels.get(record.id)).not.toBeNull()
        clock.advance(1)
        expect(await store.channels.get(record.id)).toBeNull()
        expect(await store.channels.replaceIfMatch(record.id, record.rev, written(record, 'x', clock.now()))).toBe('missing')
        expect(await store.channels.takeOnce(record.id)).toBeNull()
        expect(await store.channels.delete(record.id)).toBe(false)
      })

      it('refuses creation at the live cap and never evicts a live channel', async () => {
        const first = newRecord(clock)
        const second = newRecord(clock)
        expect(await store.channels.create(first, 2)).toBe('ok')
        expect(await store.channels.create(second, 2)).toBe('ok')
        expect(await store.channels.create(newRecord(clock), 2)).toBe('capacity')
        expect(await store.channels.get(first.id)).not.toBeNull()
        expect(await store.channels.get(second.id)).not.toBeNull()
        expect(await store.channels.liveCount()).toBe(2)
      })

      it('frees a place at the cap when a channel is deleted or expires', async () => {
        const first = newRecord(clock, 10_000)
        const second = newRecord(clock, 60_000)
        await store.channels.create(first, 2)
        await store.channels.create(second, 2)
        expect(await store.channels.delete(second.id)).toBe(true)
        expect(await store.channels.create(newRecord(clock), 2)).toBe('ok')
        expect(await store.channels.create(newRecord(clock), 2)).toBe('capacity')
        clock.advance(10_000)
        expect(await store.channels.create(newRecord(clock), 2)).toBe('ok')
      })

      it('finding 22: of 40 concurrent creates at a cap of 7, exactly 7 succeed, and racing creates of one id make one channel', async () => {
        const outcomes = await Promise.all(Array.from({ length: 40 }, () => store.channels.create(newRecord(clock), 7)))
        expect(outcomes.filter((o) => o === 'ok')).toHaveLength(7)
        expect(outcomes.filter((o) => o === 'capacity')).toHaveLength(33)
        expect(await store.channels.liveCount()).toBe(7)
        const same = newRecord(clock)
        const raced = await Promise.all(Array.from({ length: 10 }, () => store.channels.create(same, 100)))
        expect(raced.filter((o) => o === 'ok')).toHaveLength(1)
        expect(raced.filter((o) => o === 'exists')).toHaveLength(9)
        // A refused duplicate holds no place: the cap still counts 8 live channels, one per id.
        expect(await store.channels.liveCount()).toBe(8)
        expect(await store.channels.create(newRecord(clock), 9)).toBe('ok')
        expect(await store.channels.create(newRecord(clock), 9)).toBe('capacity')
      })

      it('finding 22: a taken channel frees its place at once', async () => {
        const record = newRecord(clock)
        expect(await store.channels.create(record, 1)).toBe('ok')
        expect((await store.channels.takeOnce(record.id))?.id).toBe(record.id)
        expect(await store.channels.liveCount()).toBe(0)
        expect(await store.channels.create(newRecord(clock), 1)).toBe('ok')
      })

      it('replaces only when the revision matches', async () => {
        const record = newRecord(clock)
        await store.channels.create(record, 1000)
        const next = written(record, 'one', clock.now())
        expect(await store.channels.replaceIfMatch(record.id, record.rev + 7, next)).toBe('mismatch')
        expect(await store.channels.replaceIfMatch(record.id, record.rev, next)).toBe('ok')
        expect(await store.channels.get(record.id)).toEqual(next)
        expect(await store.channels.replaceIfMatch(record.id, record.rev, written(record, 'two', clock.now()))).toBe('mismatch')
        expect(await store.channels.replaceIfMatch('missing-id', 0, next)).toBe('missing')
      })

      it('lets exactly one of 50 concurrent compare-and-replace calls with the same revision win', async () => {
        const record = newRecord(clock)
        await store.channels.create(record, 1000)
        const outcomes = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.channels.replaceIfMatch(record.id, record.rev, written(record, `writer-${i}`, clock.now())),
          ),
        )
        expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1)
        expect(outcomes.filter((o) => o === 'mismatch')).toHaveLength(49)
        const winner = outcomes.indexOf('ok')
        expect((await store.channels.get(record.id))?.data).toBe(`writer-${winner}`)
      })

      it('hands a record to exactly one of many concurrent takeOnce calls', async () => {
        const record = newRecord(clock, 120_000, 'only once')
        await store.channels.create(record, 1000)
        const taken = await Promise.all(Array.from({ length: 20 }, () => store.channels.takeOnce(record.id)))
        expect(taken.filter((t) => t !== null)).toEqual([record])
        expect(await store.channels.get(record.id)).toBeNull()
      })

      it('deletes once: true, then false', async () => {
        const record = newRecord(clock)
        await store.channels.create(record, 1000)
        expect(await store.channels.delete(record.id)).toBe(true)
        expect(await store.channels.delete(record.id)).toBe(false)
        expect(await store.channels.get(record.id)).toBeNull()
      })

      it('keeps payloads of the full 4096-byte size and any Unicode intact', async () => {
        const data = '€'.repeat(1365) + 'a' // 4096 UTF-8 bytes
        const record = newRecord(clock, 120_000, data)
        await store.channels.create(record, 1000)
        expect((await store.channels.get(record.id))?.data).toBe(data)
      })
    })

    describe('kv', () => {
      it('puts, reads back and replaces a value', async () => {
        await store.kv.put('kv-a', '{"n":1}', 10_000)
        expect(await store.kv.get('kv-a')).toBe('{"n":1}')
        await store.kv.put('kv-a', 'second', 10_000)
        expect(await store.kv.get('kv-a')).toBe('second')
        expect(await store.kv.get('kv-never')).toBeNull()
      })

      it('hides a value once its TTL has passed', async () => {
        await store.kv.put('kv-b', 'v', 10_000)
        clock.advance(9_999)
        expect(await store.kv.get('kv-b')).toBe('v')
        clock.advance(1)
        expect(await store.kv.get('kv-b')).toBeNull()
        expect(await store.kv.takeOnce('kv-b')).toBeNull()
        expect(await store.kv.replaceIfMatch('kv-b', 'v', 'w')).toBe('missing')
      })

      it('replaces only when the stored value matches, keeping the expiry', async () => {
        await store.kv.put('kv-c', 'one', 10_000)
        expect(await store.kv.replaceIfMatch('kv-c', 'other', 'two')).toBe('mismatch')
        expect(await store.kv.replaceIfMatch('kv-c', 'one', 'two')).toBe('ok')
        expect(await store.kv.get('kv-c')).toBe('two')
        expect(await store.kv.replaceIfMatch('kv-none', 'one', 'two')).toBe('missing')
        clock.advance(10_000)
        expect(await store.kv.get('kv-c')).toBeNull()
      })

      it('replaces with a new expiry, now + ttlMs, when given one (longer or shorter)', async () => {
        await store.kv.put('kv-t', 'one', 10_000)
        clock.advance(8_000)
        expect(await store.kv.replaceIfMatch('kv-t', 'other', 'two', 30_000)).toBe('mismatch')
        expect(await store.kv.replaceIfMatch('kv-t', 'one', 'two', 30_000)).toBe('ok')
        clock.advance(29_999)
        expect(await store.kv.get('kv-t')).toBe('two')
        expect(await store.kv.replaceIfMatch('kv-t', 'two', 'three', 5_000)).toBe('ok')
        clock.advance(4_999)
        expect(await store.kv.get('kv-t')).toBe('three')
        clock.advance(1)
        expect(await store.kv.get('kv-t')).toBeNull()
        expect(await store.kv.replaceIfMatch('kv-t', 'three', 'four', 10_000)).toBe('missing')
        expect(await store.kv.get('kv-t')).toBeNull()
      })

      it('gives a value to exactly one of many concurrent takeOnce callers', async () => {
        await store.kv.put('kv-d', 'once', 10_000)
        const taken = await Promise.all(Array.from({ length: 8 }, () => store.kv.takeOnce('kv-d')))
        expect(taken.filter((v) => v === 'once')).toHaveLength(1)
        expect(await store.kv.get('kv-d')).toBeNull()
      })

      it('lets exactly one of many concurrent compare-and-swaps win', async () => {
        await store.kv.put('kv-e', 'base', 10_000)
        const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => store.kv.replaceIfMatch('kv-e', 'base', `n${i}`)))
        expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1)
        expect(outcomes.filter((o) => o === 'mismatch')).toHaveLength(7)
      })
    })

    describe('counters', () => {
      it('increments from 1 and keeps the TTL set at creation', async () => {
        expect(await store.counters.increment('ctr-a', 10_000)).toBe(1)
        clock.advance(6_000)
        expect(await store.counters.increment('ctr-a', 10_000)).toBe(2)
        expect(await store.counters.read('ctr-a')).toBe(2)
      })

      it('reads 0 for an absent counter', async () => {
        expect(await store.counters.read('never')).toBe(0)
      })

      it('counts 100 concurrent increments exactly', async () => {
        const values = await Promise.all(Array.from({ length: 100 }, () => store.counters.increment('ctr-race', 60_000)))
        expect(new Set(values).size).toBe(100)
        expect(Math.max(...values)).toBe(100)
      })

      it('counts windows and reports the previous one', async () => {
        expect(await store.counters.hitWindow('win', 10, 120_000)).toEqual({ current: 1, previous: 0 })
        expect(await store.counters.hitWindow('win', 10, 120_000)).toEqual({ current: 2, previous: 0 })
        expect(await store.counters.hitWindow('win', 11, 120_000)).toEqual({ current: 1, previous: 2 })
      })

      // Admit while previous × 1 + (current + 1) × 1 ≤ 5: a plain limit of 5 over two windows.
      const five = { previousWeight: 1, currentWeight: 1, capacity: 5 }

      it('reserves slots while the budget admits them and counts nothing for a refusal', async () => {
        const got = []
        for (let i = 0; i < 7; i++) got.push(await store.counters.reserveWindow('res', 3, 120_000, five))
        expect(got.map((r) => r.reserved)).toEqual([true, true, true, true, true, false, false])
        expect(got[4]).toEqual({ reserved: true, current: 5, previous: 0 })
        expect(got[6]).toEqual({ reserved: false, current: 5, previous: 0 })
        expect(await store.counters.hitWindow('res', 3, 120_000)).toEqual({ current: 6, previous: 0 })
      })

      it('weighs the previous window into the budget', async () => {
        for (let i = 0; i < 3; i++) await store.counters.hitWindow('res-prev', 7, 120_000)
        const next = [
          await store.counters.reserveWindow('res-prev', 8, 120_000, five),
          await store.counters.reserveWindow('res-prev', 8, 120_000, five),
          await store.counters.reserveWindow('res-prev', 8, 120_000, five),
        ]
        expect(next).toEqual([
          { reserved: true, current: 1, previous: 3 },
          { reserved: true, current: 2, previous: 3 },
          { reserved: false, current: 2, previous: 3 },
        ])
        const half = { previousWeight: 1, currentWeight: 2, capacity: 10 }
        expect(await store.counters.reserveWindow('res-prev', 8, 120_000, half)).toEqual({ reserved: true, current: 3, previous: 3 })
      })

      it('finding 2: of 200 concurrent reservations exactly the budget wins', async () => {
        const ten = { previousWeight: 1, currentWeight: 1, capacity: 10 }
        const all = await Promise.all(Array.from({ length: 200 }, () => store.counters.reserveWindow('res-race', 1, 120_000, ten)))
        expect(all.filter((r) => r.reserved)).toHaveLength(10)
        expect(new Set(all.filter((r) => r.reserved).map((r) => r.current)).size).toBe(10)
        expect((await store.counters.hitWindow('res-race', 1, 120_000)).current).toBe(11)
      })

      it('gives a slot back on release, never below zero, and a released slot can be taken again', async () => {
        for (let i = 0; i < 5; i++) await store.counters.reserveWindow('rel', 2, 120_000, five)
        expect((await store.counters.reserveWindow('rel', 2, 120_000, five)).reserved).toBe(false)
        await Promise.all([store.counters.releaseWindow('rel', 2), store.counters.releaseWindow('rel', 2)])
        const again = await Promise.all(Array.from({ length: 5 }, () => store.counters.reserveWindow('rel', 2, 120_000, five)))
        expect(again.filter((r) => r.reserved)).toHaveLength(2)
        for (let i = 0; i < 8; i++) await store.counters.releaseWindow('rel', 2)
        await store.counters.releaseWindow('rel-absent', 2)
        expect(await store.counters.hitWindow('rel', 2, 120_000)).toEqual({ current: 1, previous: 0 })
        expect(await store.counters.hitWindow('rel-absent', 2, 120_000)).toEqual({ current: 1, previous: 0 })
      })
    })

    describeFusedIntents(() => ({ store, clock }))

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined()
    })
  })
}
