/**
 * `rendezvous.writeAsParty`, the WebSocket's put for a party admitted at its hello: the same size
 * check, write limit, token check (idempotent retry included), compare-and-swap and `written` event
 * as a native `write`, without the party secret.
 */
import { describe, expect, it } from 'vitest'
import { memoryChannelEvents } from '../../../src/adapters/pubsub/memory.ts'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { parseConfig } from '../../../src/config.ts'
import type { ChannelSignal } from '../../../src/core/relay/channel-event.ts'
import { rateLimiter } from '../../../src/services/rate-limiter.ts'
import { rendezvousService } from '../../../src/services/rendezvous.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const setup = async (env: Record<string, string> = {}) => {
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
  return { rendezvous, record, creatorSecret: creatorSecret!, joinerSecret: joined.joinerSecret!, heard, caller }
}

describe('rendezvous.writeAsParty', () => {
  it('writes as a native write does, and announces the write with its party', async () => {
    const t = await setup()
    const result = await t.rendezvous.writeAsParty(t.record.id, 'answer', t.record.token, 'joiner')
    expect(result).toMatchObject({ party: 'joiner', changed: true, record: { data: 'answer', version: 1 } })
    expect(await t.rendezvous.current(t.record.id)).toEqual(result.record)
    expect(t.heard).toEqual([{ type: 'written', token: result.record.token, by: 'joiner' }])
    // The next write by the other transport sees the same record and token.
    const next = await t.rendezvous.write('native', t.record.id, 'again', result.record.token, t.caller, t.creatorSecret)
    expect(next.record.version).toBe(2)
  })

  it('refuses a stale token with the current record, and takes a retry of the same data as done', async () => {
    const t = await setup()
    const first = await t.rendezvous.writeAsParty(t.record.id, 'answer', t.record.token, 'joiner')
    const retry = await t.rendezvous.writeAsParty(t.record.id, 'answer', t.record.token, 'joiner')
    expect(retry).toMatchObject({ changed: false, record: first.record })
    const stale = await t.rendezvous.writeAsParty(t.record.id, 'other', t.record.token, 'creator').catch((error: unknown) => error)
    expect(stale).toMatchObject({ code: 'CONCURRENT_WRITE', cause: first.record })
    expect(t.heard).toHaveLength(1)
  })

  it('counts against the channel write limit and checks the size in UTF-8 bytes', async () => {
    const t = await setup({ QRELAY_RATE_WRITES_PER_CHANNEL: '1/60s' })
    // 400 UTF-16 code units, 1 200 UTF-8 bytes: over the 1 024-byte limit.
    const wide = '\u20ac'.repeat(400)
    await expect(t.rendezvous.writeAsParty(t.record.id, wide, t.record.token, 'creator')).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    })
    const written = await t.rendezvous.writeAsParty(t.record.id, '\u20ac'.repeat(300), t.record.token, 'creator')
    expect(written.changed).toBe(true)
    await expect(t.rendezvous.writeAsParty(t.record.id, 'x', written.record.token, 'creator')).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    })
  })

  it('finds nothing once the channel is gone', async () => {
    const t = await setup()
    await t.rendezvous.remove('native', t.record.id, t.caller, t.creatorSecret)
    await expect(t.rendezvous.writeAsParty(t.record.id, 'late', t.record.token, 'joiner')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
