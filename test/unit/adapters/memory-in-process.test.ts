/**
 * The memory store's synchronous steps for a WebSocket put (`inProcess`): `peekChannel` reads what
 * `channels.get` reads, and `writeChannelNow` leaves the store as `channels.replaceIfMatch` of the
 * written record does, with the same outcome, on packed records, records kept unpacked, and records
 * at the packed form's bounds.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { createChannel, type ChannelRecord } from '../../../src/core/rendezvous/channel.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const ID = 'abcDEF123_-abcDEF123_-'

const stores = async (record: ChannelRecord) => {
  const clock = fakeClock()
  const made = [memoryStore({ clock, sweepIntervalMs: 0 }), memoryStore({ clock, sweepIntervalMs: 0 })] as const
  for (const store of made) expect(await store.channels.create(record, 10)).toBe('ok')
  return { clock, made }
}

describe('memory store, in-process channel steps', () => {
  const record = fc
    .record({
      network: fc.constantFrom(undefined, '198.51.100.7', '2001:db8:1:2::/64', 'other'),
      secret: fc.boolean(),
      claimed: fc.boolean(),
      version: fc.constantFrom(0, 7, 2 ** 14 - 1),
      rev: fc.constantFrom(0, 9, 2 ** 15 - 1),
      fractional: fc.boolean(),
    })
    .map(({ network, secret, claimed, version, rev, fractional }): ChannelRecord => {
      const created = createChannel({
        id: ID,
        api: 'native',
        data: 'offer',
        now: 1_700_000_000_000,
        ttlMs: 120_000,
        ...(secret ? { creatorSecretHash: 'c'.repeat(43) } : {}),
        ...(network === undefined ? {} : { creatorNetwork: network }),
      })
      const base = claimed ? { ...created, joinerSecretHash: 'j'.repeat(43), joinerNetwork: '192.0.2.9' } : created
      // A fractional time is kept unpacked.
      return { ...base, version, rev, updatedAtMs: base.updatedAtMs + (fractional ? 0.5 : 0) }
    })
  const step = fc.record({
    data: fc.string({ maxLength: 10 }),
    token: fc.string({ minLength: 1, maxLength: 22 }),
    rev: fc.constantFrom('current', 'stale'),
    id: fc.constantFrom(ID, 'missing'),
    advanceMs: fc.constantFrom(0, 1000, 2 ** 31, 200_000),
  })

  it('writeChannelNow does what replaceIfMatch of the written record does', async () => {
    await fc.assert(
      fc.asyncProperty(record, fc.array(step, { maxLength: 6 }), async (r, steps) => {
        const { clock, made } = await stores(r)
        const [now, async] = made
        for (const s of steps) {
          clock.advance(s.advanceMs % 100_000)
          const current = await async.channels.get(s.id)
          const peeked = now.inProcess?.peekChannel(s.id) ?? null
          expect(peeked === null ? null : [peeked.api, peeked.data, peeked.token, peeked.version, peeked.rev, peeked.expiresAtMs]).toEqual(
            current === null ? null : [current.api, current.data, current.token, current.version, current.rev, current.expiresAtMs],
          )
          const rev = s.rev === 'current' ? (current?.rev ?? 0) : -1
          const next: ChannelRecord | null =
            current === null
              ? null
              : { ...current, data: s.data, version: current.version + 1, token: s.token, rev: current.rev + 1, updatedAtMs: clock.now() }
          const expected = next === null ? 'missing' : await async.channels.replaceIfMatch(s.id, rev, next)
          expect(now.inProcess?.writeChannelNow(s.id, rev, s.data, s.token, clock.now())).toBe(expected)
          const [a, b] = [await now.channels.get(ID), await async.channels.get(ID)]
          expect(a).toStrictEqual(b)
          if (a !== null && b !== null) expect(Object.keys(a)).toEqual(Object.keys(b))
        }
      }),
      { numRuns: 300 },
    )
  })
})
