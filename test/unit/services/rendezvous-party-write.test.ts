/**
 * `rendezvous.writeAsParty`, the WebSocket's put for a party admitted at its hello: the same size
 * check, write limit, token check (idempotent retry included), compare-and-swap and `written` event
 * as a native `write`, without the party secret; and `writeAsPartyNow`, the same as one synchronous
 * step on the memory store (each case runs on both, and the two leave the store in the same state).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memoryChannelEvents } from '../../../src/adapters/pubsub/memory.ts'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { parseConfig } from '../../../src/config.ts'
import type { ChannelSignal } from '../../../src/core/relay/channel-event.ts'
import { rateLimiter } from '../../../src/services/rate-limiter.ts'
import { rendezvousService } from '../../../src/services/rendezvous.ts'
import type { SettledView } from '../../../src/services/rendezvous-access.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

type PartyWrite = (id: string, data: string, token: string, party: 'creator' | 'joiner') => Promise<SettledView>

/** The synchronous write counts its limit by the key, or by the key prepared once (as a socket keeps it). */
const setup = async (env: Record<string, string> = {}, synchronous: boolean | 'prepared' = false) => {
  const config = parseConfig({ QRELAY_RATE_WRITES_PER_CHANNEL: '1000/60s', QRELAY_MAX_PAYLOAD_BYTES: '1024', ...env })
  const clock = fakeClock()
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  const events = memoryChannelEvents()
  const limiter = rateLimiter(store.counters, clock)
  const rendezvous = rendezvousService({
    store,
    limiter,
    clock,
    random: seededRandom(5),
    limits: config.rendezvous,
    rates: config.rateLimit,
    events,
  })
  const caller = { clientKey: '192.0.2.1' }
  const { record, creatorSecret } = await rendezvous.create('native', 'offer', caller)
  const joined = await rendezvous.read('native', record.id, { clientKey: '198.51.100.7' })
  const heard: ChannelSignal[] = []
  await events.subscribe(record.id, (signal) => void heard.push(signal))
  const now = rendezvous.writeAsPartyNow
  if (now === undefined) throw new Error('the memory store answers in process')
  // The synchronous write answers the token only: the view is the record it left (changed when it
  // announced a write), and the token must be that record's.
  const limit = synchronous === 'prepared' ? rendezvous.writeLimitNow?.(record.id) : undefined
  if (synchronous === 'prepared' && limit === undefined) throw new Error('the memory store prepares write limits')
  const writeAsParty: PartyWrite = synchronous
    ? async (id, data, token, party) => {
        const announced = heard.length
        const next = now(id, data, token, party, id === record.id ? limit : undefined)
        const current = await rendezvous.current(id)
        if (current === null || current.token !== next) throw new Error(`answered ${next}, stored ${current?.token}`)
        return { record: current, party, changed: heard.length > announced }
      }
    : (...args) => rendezvous.writeAsParty(...args)
  return {
    rendezvous,
    writeAsParty,
    clock,
    store,
    record,
    creatorSecret: creatorSecret!,
    joinerSecret: joined.joinerSecret!,
    heard,
    caller,
  }
}

describe.each([
  ['writeAsParty', false],
  ['writeAsPartyNow', true],
  ['writeAsPartyNow with its write limit prepared', 'prepared' as const],
])('rendezvous.%s', (_name, synchronous) => {
  it('writes as a native write does, and announces the write with its party', async () => {
    const t = await setup({}, synchronous)
    const result = await t.writeAsParty(t.record.id, 'answer', t.record.token, 'joiner')
    expect(result).toMatchObject({ party: 'joiner', changed: true, record: { data: 'answer', version: 1 } })
    expect(await t.rendezvous.current(t.record.id)).toEqual(result.record)
    expect(t.heard).toEqual([{ type: 'written', token: result.record.token, by: 'joiner' }])
    // The next write by the other transport sees the same record and token.
    const next = await t.rendezvous.write('native', t.record.id, 'again', result.record.token, t.caller, t.creatorSecret)
    expect(next.record.version).toBe(2)
  })

  it('refuses a stale token with the current record, and takes a retry of the same data as done', async () => {
    const t = await setup({}, synchronous)
    const first = await t.writeAsParty(t.record.id, 'answer', t.record.token, 'joiner')
    const retry = await t.writeAsParty(t.record.id, 'answer', t.record.token, 'joiner')
    expect(retry).toMatchObject({ changed: false, record: first.record })
    const stale = await t.writeAsParty(t.record.id, 'other', t.record.token, 'creator').catch((error: unknown) => error)
    expect(stale).toMatchObject({ code: 'CONCURRENT_WRITE', cause: first.record })
    expect(t.heard).toHaveLength(1)
  })

  it('counts against the channel write limit and checks the size in UTF-8 bytes', async () => {
    const t = await setup({ QRELAY_RATE_WRITES_PER_CHANNEL: '1/60s' }, synchronous)
    // 400 UTF-16 code units, 1 200 UTF-8 bytes: over the 1 024-byte limit.
    const wide = '\u20ac'.repeat(400)
    await expect(t.writeAsParty(t.record.id, wide, t.record.token, 'creator')).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    })
    const written = await t.writeAsParty(t.record.id, '\u20ac'.repeat(300), t.record.token, 'creator')
    expect(written.changed).toBe(true)
    await expect(t.writeAsParty(t.record.id, 'x', written.record.token, 'creator')).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    })
  })

  it('finds nothing once the channel is gone', async () => {
    const t = await setup({}, synchronous)
    await t.rendezvous.remove('native', t.record.id, t.caller, t.creatorSecret)
    await expect(t.writeAsParty(t.record.id, 'late', t.record.token, 'joiner')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})

describe('rendezvous.writeAsParty on a store that answers later (Redis)', () => {
  it('sends the read and the write-limit hit together: one round trip, not two in a row', async () => {
    const t = await setup()
    const { channels, counters } = t.store
    const calls: string[] = []
    const get = channels.get.bind(channels)
    let answer = (): void => {}
    const answered = new Promise<void>((resolve) => {
      answer = resolve
    })
    channels.get = async (id) => {
      calls.push('read')
      await answered
      return get(id)
    }
    const hitWindow = counters.hitWindow.bind(counters)
    counters.hitWindow = (...args) => {
      calls.push('hit')
      return hitWindow(...args)
    }
    const writing = t.writeAsParty(t.record.id, 'answer', t.record.token, 'joiner')
    // Both asked for before the read has answered.
    expect(calls).toEqual(['read', 'hit'])
    answer()
    await expect(writing).resolves.toMatchObject({ changed: true, record: { data: 'answer' } })
    expect(t.heard).toHaveLength(1)
  })

  it('answers NOT_FOUND for a gone channel even when the write limit is spent', async () => {
    const t = await setup({ QRELAY_RATE_WRITES_PER_CHANNEL: '1/600s', QRELAY_NATIVE_TTL_SECONDS: '60' })
    const written = await t.writeAsParty(t.record.id, 'answer', t.record.token, 'joiner')
    await expect(t.writeAsParty(t.record.id, 'more', written.record.token, 'joiner')).rejects.toMatchObject({ code: 'RATE_LIMITED' })
    t.clock.advance(61_000)
    await expect(t.writeAsParty(t.record.id, 'late', written.record.token, 'joiner')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})

describe('writeAsPartyNow against writeAsParty', () => {
  /** One step of a party's writing: which token it presents (the current one, the first, a made-up one), what data, time passing. */
  const step = fc.record({
    party: fc.constantFrom('creator' as const, 'joiner' as const),
    token: fc.constantFrom('current', 'first', 'made-up'),
    data: fc.constantFrom('a', 'b', 'offer', '\u20ac'.repeat(400)),
    advanceMs: fc.constantFrom(0, 0, 1000, 30_000),
  })

  const outcome = async (write: Promise<SettledView>) => {
    try {
      const done = await write
      return { changed: done.changed, party: done.party, record: done.record }
    } catch (error) {
      const { code, detail, cause } = error as { code: string; detail?: string; cause?: unknown }
      return { code, detail, cause }
    }
  }

  it('gives the same outcomes, events, records and counts for any sequence of writes (the write limit prepared or not)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 12 }), fc.constantFrom('1000/60s', '3/60s'), async (steps, rate) => {
        const env = { QRELAY_RATE_WRITES_PER_CHANNEL: rate, QRELAY_NATIVE_TTL_SECONDS: '60' }
        const runs = [await setup(env, false), await setup(env, true), await setup(env, 'prepared')]
        const seen = []
        for (const t of runs) {
          const outcomes = []
          for (const s of steps) {
            t.clock.advance(s.advanceMs)
            const current = await t.rendezvous.current(t.record.id)
            const token = s.token === 'current' ? (current?.token ?? t.record.token) : s.token === 'first' ? t.record.token : 'made-up'
            outcomes.push(await outcome(t.writeAsParty(t.record.id, s.data, token, s.party)))
          }
          seen.push({ outcomes, heard: t.heard, record: await t.rendezvous.current(t.record.id) })
        }
        expect(seen[1]).toStrictEqual(seen[0])
        expect(seen[2]).toStrictEqual(seen[0])
      }),
      { numRuns: 200 },
    )
  })
})
