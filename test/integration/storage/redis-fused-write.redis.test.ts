/**
 * The Redis store's one-script Matrix write (`limitAndWrite`, `qrChLimitWrite` in
 * src/adapters/storage/redis-fused.ts) against the two-step path it replaced (the channel's limit-and-read,
 * then compare-and-swap on the revision: `writeBySwap`, also the script's fallback), on the test Redis:
 * random sequences of writes (matching, stale and retried tokens, payloads the same or new, of every API,
 * on unknown and expired channels, past the rate limit) give the same outcome, counts and stored record.
 */
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { redisStore } from '../../../src/adapters/storage/redis.ts'
import { createChannel, writeToken, type ChannelRecord, type RendezvousApi } from '../../../src/core/rendezvous/channel.ts'
import type { ChannelLimit, EphemeralStore } from '../../../src/ports.ts'
import { writeBySwap } from '../../../src/services/channel-limits.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { redisClient, redisUrl, uniquePrefix } from '../../helpers/redis.ts'

const APIS: readonly RendezvousApi[] = ['msc4108', 'msc4388', 'native']
const TTL_MS = 120_000
const WINDOW_MS = 60_000
/** Payloads: the same as stored, JSON and Lua escapes, non-BMP text, a lone surrogate (the script's fallback), random text. */
const DATA = fc.oneof(
  fc.constantFrom('payload', '', 'ü€😀', '"quoted" \\/ \u2028\u0000', 'a\uD800b', '{"data":1}'),
  fc.string({ maxLength: 40, unit: 'binary' }),
)

type Step =
  | { kind: 'advance'; ms: number }
  | {
      kind: 'write'
      channel: number
      /** null: the channel's own API. */
      api: RendezvousApi | null
      token: 'current' | 'previous' | 'other'
      data: string | null
      retry: boolean
    }

const STEP: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 70_000 }) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      // 0 and 1: the two channels; 2: an id never created.
      channel: fc.constantFrom(0, 0, 0, 1, 1, 1, 2),
      api: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...APIS) }),
      token: fc.constantFrom('current' as const, 'previous' as const, 'other' as const),
      // null: the payload stored now (an idempotent retry when the token is stale).
      data: fc.option(DATA, { nil: null }),
      retry: fc.boolean(),
    }),
  },
)

if (redisUrl() === null) {
  describe.skip('Redis fused write (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('Redis fused write against the two-step path', () => {
    const client = redisClient()
    afterAll(async () => void (await client.quit()))

    it('gives the same outcome, counts and stored record for every sequence of writes', async () => {
      let run = 0
      await fc.assert(
        fc.asyncProperty(
          fc.tuple(fc.constantFrom(...APIS), fc.constantFrom(...APIS)),
          fc.integer({ min: 1, max: 6 }),
          fc.array(STEP, { minLength: 1, maxLength: 14 }),
          async (apis, capacity, steps) => {
            const clock = fakeClock(Date.now())
            const fused = redisStore({ client, keyPrefix: uniquePrefix('fused-write'), clock })
            const composed = redisStore({ client, keyPrefix: uniquePrefix('swap-write'), clock })
            const swap = writeBySwap(composed.channels.limitAndGet!.bind(composed.channels), composed.channels)
            const ids = [0, 1, 2].map((n) => `fw-${process.pid}-${run}-${n}`)
            run++
            const apiOf = [...apis, 'msc4388' as const]
            for (const [n, api] of apis.entries()) {
              const record = createChannel({
                id: ids[n]!,
                api,
                data: 'payload',
                now: clock.now(),
                ttlMs: TTL_MS,
                creatorNetwork: '192.0.2.1',
              })
              for (const store of [fused, composed]) expect(await store.channels.create(record, 100)).toBe('ok')
            }
            const previous = new Map<string, string>()
            for (const step of steps) {
              if (step.kind === 'advance') {
                clock.advance(step.ms)
                continue
              }
              const id = ids[step.channel]!
              const current = await fused.channels.get(id)
              expect(await composed.channels.get(id)).toEqual(current)
              const token =
                step.token === 'current'
                  ? (current?.token ?? 'none')
                  : step.token === 'previous'
                    ? (previous.get(id) ?? 'none')
                    : 'other-token'
              const data = step.data ?? current?.data ?? 'payload'
              const write = {
                api: step.api ?? apiOf[step.channel]!,
                data,
                expectedToken: token,
                nextToken: writeToken(id, token, data),
                now: clock.now(),
                idempotentRetry: step.retry,
              }
              const limit: ChannelLimit = {
                key: `write:${id}:192.0.2.9`,
                windowIndex: Math.floor(clock.now() / WINDOW_MS),
                ttlMs: 2 * WINDOW_MS,
                budget: { previousWeight: 0.5, currentWeight: 1, capacity },
              }
              const one = await fused.channels.limitAndWrite!(id, write, limit)
              const two = await swap(id, write, limit)
              expect(one).toEqual(two)
              if (one.admitted && one.value.outcome === 'written' && current !== null) previous.set(id, current.token)
            }
            for (const id of ids) expect(await fused.channels.get(id)).toEqual(await composed.channels.get(id))
          },
        ),
        { numRuns: 100 },
      )
    })

    it('answers each outcome at least once in a fixed sequence (written, unchanged, stale, missing, refused)', async () => {
      const clock = fakeClock(Date.now())
      const store: EphemeralStore = redisStore({ client, keyPrefix: uniquePrefix('fused-write-table'), clock })
      const id = `fw-table-${process.pid}`
      const record: ChannelRecord = createChannel({ id, api: 'msc4388', data: 'first', now: clock.now(), ttlMs: TTL_MS })
      await store.channels.create(record, 100)
      const limit = (capacity: number): ChannelLimit => ({
        key: `write:${id}:table`,
        windowIndex: 7,
        ttlMs: 2 * WINDOW_MS,
        budget: { previousWeight: 1, currentWeight: 1, capacity },
      })
      const writeOf = (expectedToken: string, data: string, api: RendezvousApi = 'msc4388') => ({
        api,
        data,
        expectedToken,
        nextToken: writeToken(id, expectedToken, data),
        now: clock.now(),
        idempotentRetry: true,
      })
      const written = await store.channels.limitAndWrite!(id, writeOf(record.token, 'second'), limit(10))
      expect(written.admitted && written.value.outcome).toBe('written')
      const stored = (await store.channels.get(id))!
      expect(stored).toMatchObject({ data: 'second', version: 1, rev: 1, token: writeToken(id, record.token, 'second') })
      expect(await store.channels.limitAndWrite!(id, writeOf(record.token, 'second'), limit(10))).toMatchObject({
        admitted: true,
        value: { outcome: 'unchanged', record: stored },
      })
      expect(await store.channels.limitAndWrite!(id, writeOf(record.token, 'third'), limit(10))).toMatchObject({
        admitted: true,
        value: { outcome: 'stale', record: stored },
      })
      expect(await store.channels.limitAndWrite!(id, writeOf(stored.token, 'x', 'msc4108'), limit(10))).toMatchObject({
        admitted: true,
        value: { outcome: 'missing' },
      })
      expect(await store.channels.limitAndWrite!(id, writeOf(stored.token, 'x'), limit(4))).toEqual({
        admitted: false,
        counts: { current: 5, previous: 0 },
      })
      clock.advance(TTL_MS)
      expect(await store.channels.limitAndWrite!(id, writeOf(stored.token, 'x'), limit(10))).toMatchObject({
        admitted: true,
        value: { outcome: 'missing' },
      })
      expect(await store.channels.get(id)).toBeNull()
    })
  })
}
