/**
 * The contract of the fused rate-limited channel intents (`ChannelStore.limitAndGet`, `limitAndTake`,
 * `limitAndCreate`), run by `describeEphemeralStore` against every adapter: through `fusedChannelOps`,
 * so an adapter with its own intents (Redis) and one without (memory, Durable Objects: composed from the
 * plain ports) must give the same outcomes. A refused hit changes nothing but its counter; of racing
 * callers exactly the budget is admitted and at most one takes a record.
 */
import { describe, expect, it } from 'vitest'
import { createChannel, writeToken, type ChannelRecord, type RendezvousApi, type TokenWrite } from '../../../src/core/rendezvous/channel.ts'
import type { ChannelLimit, EphemeralStore } from '../../../src/ports.ts'
import { fusedChannelOps } from '../../../src/services/channel-limits.ts'
import type { FakeClock } from '../../helpers/fake-clock.ts'

let serial = 0
const newRecord = (clock: FakeClock, api: RendezvousApi = 'msc4388', ttlMs = 120_000): ChannelRecord =>
  createChannel({ id: `fused-${Date.now().toString(36)}-${serial++}`, api, data: 'payload', now: clock.now(), ttlMs })

/**
 * A plain limit of `n` hits over the window and the one before (both weigh 1). A counter is named as the
 * rate limiter names it, with its channel's id in it: an adapter may keep it beside that channel only.
 */
const limitOf = (key: string, n: number, windowIndex = 5): ChannelLimit => ({
  key: `${key}-${serial++}`,
  windowIndex,
  ttlMs: 120_000,
  budget: { previousWeight: 1, currentWeight: 1, capacity: n },
})

export const describeFusedIntents = (current: () => { store: EphemeralStore; clock: FakeClock }): void => {
  describe('fused rate-limited channel intents', () => {
    it('limitAndGet counts every hit, answers the live record while admitted, and nothing once refused', async () => {
      const { store, clock } = current()
      const ops = fusedChannelOps(store)
      const record = newRecord(clock)
      expect(await store.channels.create(record, 1000)).toBe('ok')
      const limit = limitOf('get', 2)
      expect(await ops.limitAndGet(record.id, limit)).toEqual({ admitted: true, counts: { current: 1, previous: 0 }, value: record })
      expect(await ops.limitAndGet(record.id, limit)).toEqual({ admitted: true, counts: { current: 2, previous: 0 }, value: record })
      expect(await ops.limitAndGet(record.id, limit)).toEqual({ admitted: false, counts: { current: 3, previous: 0 } })
      // The next window weighs the previous one in: 3 + 1 > 2.
      expect(await ops.limitAndGet(record.id, { ...limit, windowIndex: 6 })).toEqual({
        admitted: false,
        counts: { current: 1, previous: 3 },
      })
      expect(await ops.limitAndGet('never-created', limitOf('get-unknown', 2))).toEqual({
        admitted: true,
        counts: { current: 1, previous: 0 },
        value: null,
      })
      clock.advance(120_000)
      expect(await ops.limitAndGet(record.id, limitOf('get-expired', 2))).toEqual({
        admitted: true,
        counts: { current: 1, previous: 0 },
        value: null,
      })
    })

    it('limitAndTake takes a live record of its API once, and leaves a record of another API or a refused hit alone', async () => {
      const { store, clock } = current()
      const ops = fusedChannelOps(store)
      const record = newRecord(clock)
      await store.channels.create(record, 1000)
      const limit = limitOf('take', 2)
      expect(await ops.limitAndTake(record.id, 'msc4108', limit)).toEqual({
        admitted: true,
        counts: { current: 1, previous: 0 },
        value: null,
      })
      expect(await store.channels.get(record.id)).toEqual(record)
      await ops.limitAndTake(record.id, 'msc4388', limitOf('take-spent', 0))
      expect(await ops.limitAndTake(record.id, 'msc4388', { ...limit, budget: { ...limit.budget, capacity: 1 } })).toEqual({
        admitted: false,
        counts: { current: 2, previous: 0 },
      })
      expect(await store.channels.get(record.id)).toEqual(record)
      // The same counter as limitAndGet's under the same name: the reads and the take add up.
      expect(await ops.limitAndGet(record.id, { ...limit, budget: { ...limit.budget, capacity: 10 } })).toMatchObject({
        counts: { current: 3 },
      })
      const taken = await ops.limitAndTake(record.id, 'msc4388', { ...limit, budget: { ...limit.budget, capacity: 10 } })
      expect(taken).toEqual({ admitted: true, counts: { current: 4, previous: 0 }, value: record })
      expect(await store.channels.get(record.id)).toBeNull()
      expect(await ops.limitAndTake(record.id, 'msc4388', limitOf('take-again', 5))).toMatchObject({ admitted: true, value: null })
    })

    it('limitAndTake frees the place at the cap, hides an expired record, and hands a record to one of many racing takers', async () => {
      const { store, clock } = current()
      const ops = fusedChannelOps(store)
      const first = newRecord(clock, 'msc4108', 10_000)
      expect(await store.channels.create(first, 1)).toBe('ok')
      expect(await store.channels.create(newRecord(clock), 1)).toBe('capacity')
      expect((await ops.limitAndTake(first.id, 'msc4108', limitOf('cap', 5))).admitted).toBe(true)
      expect(await store.channels.liveCount()).toBe(0)
      const expiring = newRecord(clock, 'msc4388', 10_000)
      expect(await store.channels.create(expiring, 1)).toBe('ok')
      clock.advance(10_000)
      expect(await ops.limitAndTake(expiring.id, 'msc4388', limitOf('expired', 5))).toMatchObject({ admitted: true, value: null })
      const raced = newRecord(clock)
      expect(await store.channels.create(raced, 10)).toBe('ok')
      const limit = limitOf('race-take', 100)
      const all = await Promise.all(Array.from({ length: 20 }, () => ops.limitAndTake(raced.id, 'msc4388', limit)))
      expect(all.filter((r) => r.admitted && r.value !== null)).toHaveLength(1)
      expect(new Set(all.map((r) => r.counts.current)).size).toBe(20)
    })

    it('of 60 racing limitAndGet calls exactly the budget is admitted', async () => {
      const { store, clock } = current()
      const ops = fusedChannelOps(store)
      const record = newRecord(clock)
      await store.channels.create(record, 1000)
      const limit = limitOf('race-get', 10)
      const all = await Promise.all(Array.from({ length: 60 }, () => ops.limitAndGet(record.id, limit)))
      expect(all.filter((r) => r.admitted)).toHaveLength(10)
      expect(all.filter((r) => r.admitted).every((r) => r.admitted && r.value?.id === record.id)).toBe(true)
    })

    /** A write of `data` over `expected` at the clock's time (next token as the service makes it). */
    const writeOf = (clock: FakeClock, id: string, expected: string, data: string, more: Partial<TokenWrite> = {}): TokenWrite => ({
      api: 'msc4388',
      data,
      expectedToken: expected,
      nextToken: writeToken(id, expected, data),
      now: clock.now(),
      idempotentRetry: true,
      ...more,
    })

    it('limitAndWrite stores a matching write, answers stale and idempotent retries with the current record, and counts as limitAndGet', async () => {
      const { store, clock } = current()
      const ops = fusedChannelOps(store)
      const record = newRecord(clock)
      await store.channels.create(record, 1000)
      const limit = limitOf('write', 4)
      clock.advance(5)
      // Characters a script must carry unchanged: JSON escapes, a slash, non-ASCII, an emoji.
      const data = 'a/b "q" \\ \n é € 😀 \u0000'
      const write = writeOf(clock, record.id, record.token, data)
      const expected: ChannelRecord = { ...record, data, version: 1, token: write.nextToken, rev: 1, updatedAtMs: clock.now() }
      expect(await ops.limitAndWrite(record.id, write, limit)).toEqual({
        admitted: true,
        counts: { current: 1, previous: 0 },
        value: { outcome: 'written', record: expected },
      })
      expect(await store.channels.get(record.id)).toEqual(expected)
      // The same write again: its token is stale now, its data identical.
      expect((await ops.limitAndWrite(record.id, write, limit)).admitted && (await store.channels.get(record.id))).toEqual(expected)
      expect(await ops.limitAndWrite(record.id, { ...write, idempotentRetry: false }, limit)).toEqual({
        admitted: true,
        counts: { current: 3, previous: 0 },
        value: { outcome: 'stale', record: expected },
      })
      expect(await ops.limitAndWrite(record.id, writeOf(clock, record.id, record.token, 'other'), limit)).toEqual({
        admitted: true,
        counts: { current: 4, previous: 0 },
        value: { outcome: 'stale', record: expected },
      })
      // The budget is spent: refused, nothing written; the read counter is the same counter.
      const refused = writeOf(clock, record.id, expected.token, 'late')
      expect(await ops.limitAndWrite(record.id, refused, limit)).toEqual({ admitted: false, counts: { current: 5, previous: 0 } })
      expect(await ops.limitAndGet(record.id, limit)).toEqual({ admitted: false, counts: { current: 6, previous: 0 } })
      expect(await store.channels.get(record.id)).toEqual(expected)
      // A compare-and-swap on the revision still sees the write's revision.
      expect(await store.channels.replaceIfMatch(record.id, 1, { ...expected, rev: 2, data: 'cas' })).toBe('ok')
      const idempotent = await ops.limitAndWrite(record.id, writeOf(clock, record.id, 'old', 'cas'), limitOf('write-retry', 2))
      expect(idempotent).toMatchObject({ admitted: true, value: { outcome: 'unchanged', record: { data: 'cas', rev: 2 } } })
    })

    it('limitAndWrite finds no channel of another API, an unknown id or an expired record, and one of racing writers wins', async () => {
      const { store, clock } = current()
      const ops = fusedChannelOps(store)
      const record = newRecord(clock, 'msc4108', 10_000)
      await store.channels.create(record, 1000)
      const missing = { admitted: true, counts: { current: 1, previous: 0 }, value: { outcome: 'missing' } }
      expect(await ops.limitAndWrite(record.id, writeOf(clock, record.id, record.token, 'x'), limitOf('write-api', 5))).toEqual(missing)
      expect(await ops.limitAndWrite('never-created', writeOf(clock, 'never-created', 't', 'x'), limitOf('write-unknown', 5))).toEqual(
        missing,
      )
      clock.advance(10_000)
      const late = writeOf(clock, record.id, record.token, 'x', { api: 'msc4108' })
      expect(await ops.limitAndWrite(record.id, late, limitOf('write-expired', 5))).toEqual(missing)
      const raced = newRecord(clock)
      await store.channels.create(raced, 1000)
      const limit = limitOf('write-race', 100)
      const all = await Promise.all(
        Array.from({ length: 20 }, (_, n) => ops.limitAndWrite(raced.id, writeOf(clock, raced.id, raced.token, `w${n}`), limit)),
      )
      const won = all.filter((r) => r.admitted && r.value.outcome === 'written')
      expect(won).toHaveLength(1)
      expect(all.filter((r) => r.admitted && r.value.outcome === 'stale')).toHaveLength(19)
      expect(await store.channels.get(raced.id)).toEqual(won[0]!.admitted && won[0]!.value.outcome === 'written' && won[0]!.value.record)
    })

    it('limitAndWrite keeps data a script could not carry (lone surrogates), and writes over it', async () => {
      const { store, clock } = current()
      const ops = fusedChannelOps(store)
      const record = newRecord(clock)
      await store.channels.create(record, 1000)
      const limit = limitOf('write-odd', 10)
      const first = await ops.limitAndWrite(record.id, writeOf(clock, record.id, record.token, 'a\uD800b'), limit)
      expect(first).toMatchObject({
        admitted: true,
        counts: { current: 1 },
        value: { outcome: 'written', record: { data: 'a\uD800b', version: 1 } },
      })
      const stored = await store.channels.get(record.id)
      expect(stored?.data).toBe('a\uD800b')
      const second = await ops.limitAndWrite(record.id, writeOf(clock, record.id, stored!.token, 'plain'), limit)
      expect(second).toMatchObject({
        admitted: true,
        counts: { current: 2 },
        value: { outcome: 'written', record: { data: 'plain', version: 2 } },
      })
      expect(await store.channels.get(record.id)).toMatchObject({ data: 'plain', version: 2, rev: 2 })
    })

    it('limitAndCreate creates while admitted, answers the create outcome, and creates nothing once refused', async () => {
      const { store, clock } = current()
      const ops = fusedChannelOps(store)
      const limit = limitOf('create', 3)
      const record = newRecord(clock)
      expect(await ops.limitAndCreate(record, 2, limit)).toEqual({ admitted: true, counts: { current: 1, previous: 0 }, value: 'ok' })
      expect(await store.channels.get(record.id)).toEqual(record)
      expect(await ops.limitAndCreate({ ...record, data: 'other' }, 2, limit)).toMatchObject({ admitted: true, value: 'exists' })
      expect((await store.channels.get(record.id))?.data).toBe('payload')
      const second = newRecord(clock)
      expect(await ops.limitAndCreate(second, 2, limit)).toMatchObject({ admitted: true, counts: { current: 3 }, value: 'ok' })
      const refused = newRecord(clock)
      expect(await ops.limitAndCreate(refused, 10, limit)).toEqual({ admitted: false, counts: { current: 4, previous: 0 } })
      expect(await store.channels.get(refused.id)).toBeNull()
      expect(await store.channels.liveCount()).toBe(2)
      expect(await ops.limitAndCreate(newRecord(clock), 2, limitOf('create-cap', 3))).toMatchObject({ admitted: true, value: 'capacity' })
      // The create counter is the counter store's own: a plain hit of the same name counts on from it.
      expect(await store.counters.hitWindow(limit.key, limit.windowIndex, limit.ttlMs)).toEqual({ current: 5, previous: 0 })
    })

    it('of 30 racing limitAndCreate calls exactly the budget creates', async () => {
      const { store, clock } = current()
      const ops = fusedChannelOps(store)
      const limit = limitOf('race-create', 7)
      const all = await Promise.all(Array.from({ length: 30 }, () => ops.limitAndCreate(newRecord(clock), 1000, limit)))
      expect(all.filter((r) => r.admitted && r.value === 'ok')).toHaveLength(7)
      expect(all.filter((r) => !r.admitted)).toHaveLength(23)
      expect(await store.channels.liveCount()).toBe(7)
    })
  })
}
