/**
 * The contract of the WebhookOutbox port, run against every adapter: `describeWebhookOutbox(name, make)`
 * where `make()` returns two outboxes on one backend (two connections: two processes) and a close.
 * Times are plain numbers: the outbox never reads a clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { COMPLETED_ID_MEMORY_MS, type WebhookMessage, type WebhookOutbox } from '../../../src/ports.ts'
import { uid } from './fixtures.ts'

export interface OutboxUnderTest {
  a: WebhookOutbox
  /** The same backend through another connection (memory: the same object). */
  b: WebhookOutbox
  close(): Promise<void>
}

const T0 = Date.UTC(2026, 0, 1)
const LEASE_MS = 30_000

const message = (dueAtMs = T0, body = '{"type":"security.password_changed"}') => ({
  id: uid('msg'),
  body,
  createdAtMs: T0,
  nextAttemptAtMs: dueAtMs,
})

export const describeWebhookOutbox = (name: string, make: () => Promise<OutboxUnderTest> | OutboxUnderTest): void => {
  describe(`WebhookOutbox conformance: ${name}`, () => {
    let sut: OutboxUnderTest
    let outbox: WebhookOutbox
    beforeEach(async () => {
      sut = await make()
      outbox = sut.a
    })
    afterEach(async () => {
      await sut.close()
    })

    it('enqueues once per id and hands a due message out leased, with one more attempt', async () => {
      const m = message()
      expect(await outbox.enqueue(m)).toBe(true)
      expect(await outbox.enqueue({ ...m, body: '{}' })).toBe(false)
      expect(await outbox.counts()).toEqual({ pending: 1, dead: 0 })
      const claimed = await outbox.claimDue(T0, 10, LEASE_MS)
      expect(claimed).toEqual([{ ...m, attempts: 1, nextAttemptAtMs: T0 + LEASE_MS }])
    })

    it('hands out nothing before it is due, then the oldest due first, up to the limit', async () => {
      const late = message(T0 + 5000)
      const first = message(T0 - 2000)
      const second = message(T0 - 1000)
      const third = message(T0)
      for (const m of [late, third, first, second]) await outbox.enqueue(m)
      expect((await outbox.claimDue(T0, 2, LEASE_MS)).map((m) => m.id)).toEqual([first.id, second.id])
      expect((await outbox.claimDue(T0, 10, LEASE_MS)).map((m) => m.id)).toEqual([third.id])
      expect(await outbox.claimDue(T0 + 4999, 10, LEASE_MS)).toEqual([])
      expect((await outbox.claimDue(T0 + 5000, 10, LEASE_MS)).map((m) => m.id)).toEqual([late.id])
    })

    it('keeps a leased message from others until the lease runs out, then hands it out again', async () => {
      const m = message()
      await outbox.enqueue(m)
      expect(await outbox.claimDue(T0, 10, LEASE_MS)).toHaveLength(1)
      expect(await sut.b.claimDue(T0 + LEASE_MS - 1, 10, LEASE_MS)).toEqual([])
      const again = await sut.b.claimDue(T0 + LEASE_MS, 10, LEASE_MS)
      expect(again).toEqual([{ ...m, attempts: 2, nextAttemptAtMs: T0 + 2 * LEASE_MS }])
    })

    it('removes a completed message (even after its lease ran out) and forgets it', async () => {
      const m = message()
      await outbox.enqueue(m)
      await outbox.claimDue(T0, 10, LEASE_MS)
      expect(await outbox.complete(m.id)).toBe(true)
      expect(await outbox.complete(m.id)).toBe(false)
      expect(await outbox.claimDue(T0 + 10 * LEASE_MS, 10, LEASE_MS)).toEqual([])
      expect(await outbox.counts()).toEqual({ pending: 0, dead: 0 })
    })

    it('reschedules with the last error, fenced by the attempt count', async () => {
      const m = message()
      await outbox.enqueue(m)
      const [claimed] = (await outbox.claimDue(T0, 10, LEASE_MS)) as [WebhookMessage]
      expect(await outbox.reschedule(m.id, claimed.attempts + 1, T0 + 1000, 'status 500')).toBe(false)
      expect(await outbox.reschedule(m.id, claimed.attempts, T0 + 1000, 'status 500')).toBe(true)
      expect(await outbox.claimDue(T0 + 999, 10, LEASE_MS)).toEqual([])
      const [retry] = (await outbox.claimDue(T0 + 1000, 10, LEASE_MS)) as [WebhookMessage]
      expect(retry).toMatchObject({ id: m.id, attempts: 2, lastError: 'status 500' })
      // The first holder's lease is long gone: its late answer changes nothing.
      expect(await outbox.reschedule(m.id, claimed.attempts, T0 + 5000, 'timeout')).toBe(false)
      expect(await outbox.deadLetter(m.id, claimed.attempts, 'timeout')).toBe(false)
      expect(await outbox.counts()).toEqual({ pending: 1, dead: 0 })
    })

    it('keeps dead letters for inspection, counted and never handed out again', async () => {
      const m = message()
      const other = message()
      await outbox.enqueue(m)
      await outbox.enqueue(other)
      const claimed = await outbox.claimDue(T0, 1, LEASE_MS)
      expect(claimed.map((c) => c.id)).toEqual([[m.id, other.id].sort()[0]])
      const [dying] = claimed as [WebhookMessage]
      expect(await outbox.deadLetter(dying.id, dying.attempts, 'status 410')).toBe(true)
      expect(await outbox.deadLetter(dying.id, dying.attempts, 'status 410')).toBe(false)
      expect(await outbox.reschedule(dying.id, dying.attempts, T0, 'x')).toBe(false)
      expect(await outbox.counts()).toEqual({ pending: 1, dead: 1 })
      const dead = await outbox.listDead(10)
      expect(dead).toEqual([{ ...dying, lastError: 'status 410' }])
      const later = await outbox.claimDue(T0 + 100 * LEASE_MS, 10, LEASE_MS)
      expect(later.map((c) => c.id)).not.toContain(dying.id)
      expect(await outbox.complete(dying.id)).toBe(true)
      expect(await outbox.counts()).toEqual({ pending: 1, dead: 0 })
    })

    it('hands out one message per order key at a time, oldest (createdAtMs, id) first, leased or not', async () => {
      const key = uid('acct')
      const other = uid('acct')
      // The older message of `key` was tried before: due later than the newer ones.
      const oldest = { ...message(T0 + 5000), orderKey: key, createdAtMs: T0 - 3 }
      const middle = { ...message(T0 - 10), orderKey: key, createdAtMs: T0 - 2 }
      const newest = { ...message(T0 - 20), orderKey: key, createdAtMs: T0 - 1 }
      const alone = { ...message(T0 - 5), orderKey: other, createdAtMs: T0 - 1 }
      const unordered = message(T0 - 30)
      for (const m of [newest, middle, alone, unordered, oldest]) expect(await outbox.enqueue(m)).toBe(true)
      // Only the head of each key may go, and `key`'s head is not due yet.
      expect((await outbox.claimDue(T0, 10, LEASE_MS)).map((m) => m.id)).toEqual([unordered.id, alone.id])
      const [head] = (await sut.b.claimDue(T0 + 5000, 10, LEASE_MS)) as [WebhookMessage]
      expect(head).toEqual({ ...oldest, attempts: 1, nextAttemptAtMs: T0 + 5000 + LEASE_MS })
      // Leased, it still holds its key back, on every connection, even past the others' due times.
      expect(await outbox.claimDue(T0 + 5001, 10, LEASE_MS)).toEqual([])
      expect(await outbox.complete(oldest.id)).toBe(true)
      const [next] = (await sut.b.claimDue(T0 + 5001, 10, LEASE_MS)) as [WebhookMessage]
      expect(next).toMatchObject({ id: middle.id, orderKey: key, attempts: 1 })
      // A dead message no longer holds its key back.
      expect(await outbox.deadLetter(middle.id, next.attempts, 'status 410')).toBe(true)
      expect((await outbox.claimDue(T0 + 5002, 10, LEASE_MS)).map((m) => m.id)).toEqual([newest.id])
      expect((await outbox.listDead(10)).map((m) => m.orderKey)).toEqual([key])
    })

    it('orders messages of one key created in the same millisecond by id', async () => {
      const key = uid('acct')
      const [first, second] = [message(T0), message(T0)].map((m) => ({ ...m, orderKey: key })).sort((x, y) => (x.id < y.id ? -1 : 1)) as [
        WebhookMessage,
        WebhookMessage,
      ]
      await outbox.enqueue(second)
      await outbox.enqueue(first)
      expect((await outbox.claimDue(T0, 10, LEASE_MS)).map((m) => m.id)).toEqual([first.id])
      await outbox.complete(first.id)
      expect((await outbox.claimDue(T0, 10, LEASE_MS)).map((m) => m.id)).toEqual([second.id])
    })

    it('finds a head behind many blocked messages (more than one page of the scan)', async () => {
      const blocker = uid('acct')
      await outbox.enqueue({ ...message(T0 + 60_000), orderKey: blocker, createdAtMs: T0 - 1000 })
      for (let i = 0; i < 250; i++) await outbox.enqueue({ ...message(T0 - 500 + i), orderKey: blocker, createdAtMs: T0 - 999 + i })
      const free = { ...message(T0), orderKey: uid('acct') }
      await outbox.enqueue(free)
      expect((await outbox.claimDue(T0, 10, LEASE_MS)).map((m) => m.id)).toEqual([free.id])
    })

    it('an enqueue of an id it holds changes nothing: waiting, leased, rescheduled or dead', async () => {
      const key = uid('acct')
      const m = { ...message(T0), orderKey: key }
      // The same id told again later: another body, times and key; on either connection.
      const again = { ...m, body: '{"type":"security.other"}', createdAtMs: T0 + 9, nextAttemptAtMs: T0 - 9, orderKey: uid('acct') }
      const twice = async () => {
        expect(await outbox.enqueue(again)).toBe(false)
        expect(await sut.b.enqueue(again)).toBe(false)
      }
      expect(await outbox.enqueue(m)).toBe(true)
      await twice()
      // Waiting: not due earlier, still its first body, time and key.
      expect(await outbox.claimDue(T0 - 1, 10, LEASE_MS)).toEqual([])
      const [leased] = (await outbox.claimDue(T0, 10, LEASE_MS)) as [WebhookMessage]
      expect(leased).toEqual({ ...m, attempts: 1, nextAttemptAtMs: T0 + LEASE_MS })
      // Leased: still leased, its attempt still the fence.
      await twice()
      expect(await sut.b.claimDue(T0 + LEASE_MS - 1, 10, LEASE_MS)).toEqual([])
      expect(await outbox.reschedule(m.id, leased.attempts, T0 + 1000, 'status 503')).toBe(true)
      // Rescheduled: due when it was, with its attempts and last error.
      await twice()
      expect(await outbox.claimDue(T0 + 999, 10, LEASE_MS)).toEqual([])
      const [retried] = (await outbox.claimDue(T0 + 1000, 10, LEASE_MS)) as [WebhookMessage]
      expect(retried).toEqual({ ...m, attempts: 2, nextAttemptAtMs: T0 + 1000 + LEASE_MS, lastError: 'status 503' })
      expect(await outbox.deadLetter(m.id, retried.attempts, 'status 410')).toBe(true)
      // Dead: still dead, never handed out, counted once.
      await twice()
      expect(await outbox.counts()).toEqual({ pending: 0, dead: 1 })
      expect(await outbox.listDead(10)).toEqual([{ ...retried, lastError: 'status 410' }])
      expect(await outbox.claimDue(T0 + 100 * LEASE_MS, 10, LEASE_MS)).toEqual([])
    })

    it('an enqueue of a delivered id is a no-op for a day after its last lease, then the id is forgotten', async () => {
      const m = message(T0)
      await outbox.enqueue(m)
      const [leased] = (await outbox.claimDue(T0, 10, LEASE_MS)) as [WebhookMessage]
      expect(await outbox.complete(m.id)).toBe(true)
      const leaseEnd = leased.nextAttemptAtMs
      // Delivered: not stored again, not handed out again, on either connection.
      expect(await outbox.enqueue({ ...m, nextAttemptAtMs: T0 + 5 })).toBe(false)
      expect(await sut.b.enqueue(m)).toBe(false)
      expect(await outbox.counts()).toEqual({ pending: 0, dead: 0 })
      expect(await outbox.claimDue(leaseEnd + COMPLETED_ID_MEMORY_MS - 1, 10, LEASE_MS)).toEqual([])
      expect(await outbox.enqueue(m)).toBe(false)
      expect(await outbox.complete(m.id)).toBe(false)
      // A claim past the memory forgets it.
      expect(await outbox.claimDue(leaseEnd + COMPLETED_ID_MEMORY_MS, 10, LEASE_MS)).toEqual([])
      expect(await outbox.enqueue(m)).toBe(true)
      expect(await outbox.counts()).toEqual({ pending: 1, dead: 0 })
    })

    it('an enqueue of a dead letter the operator removed is a no-op too', async () => {
      const m = message(T0)
      await outbox.enqueue(m)
      const [leased] = (await outbox.claimDue(T0, 10, LEASE_MS)) as [WebhookMessage]
      expect(await outbox.deadLetter(m.id, leased.attempts, 'status 410')).toBe(true)
      expect(await outbox.complete(m.id)).toBe(true)
      expect(await outbox.enqueue(m)).toBe(false)
      expect(await outbox.counts()).toEqual({ pending: 0, dead: 0 })
      expect(await outbox.listDead(10)).toEqual([])
    })

    it('leases each message once when claims from two connections race', async () => {
      const ids = new Set<string>()
      for (let i = 0; i < 40; i++) {
        const m = message(T0 - i)
        ids.add(m.id)
        await outbox.enqueue(m)
      }
      const batches = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? sut.a : sut.b).claimDue(T0, 5, LEASE_MS)))
      const claimed = batches.flat().map((m) => m.id)
      expect(claimed).toHaveLength(40)
      expect(new Set(claimed)).toEqual(ids)
      expect(batches.flat().every((m) => m.attempts === 1)).toBe(true)
    })
  })
}
