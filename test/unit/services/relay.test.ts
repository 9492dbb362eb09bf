/**
 * The relay service over fake sockets, a fake clock and a fake scheduler (no network, no real time):
 * timers, the per-socket work queue, clean-up, and the resync path.
 */
import { describe, expect, it } from 'vitest'
import { memoryChannelEvents } from '../../../src/adapters/pubsub/memory.ts'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { silentLogger } from '../../../src/adapters/platform/node.ts'
import { parseConfig } from '../../../src/config.ts'
import type { ChannelEvents, ChannelListener, Scheduler } from '../../../src/ports.ts'
import { rateLimiter } from '../../../src/services/rate-limiter.ts'
import { relayService } from '../../../src/services/relay.ts'
import { rendezvousService } from '../../../src/services/rendezvous.ts'
import { fakeClock, type FakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

/** Lets queued promise work run to completion (bounded). */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
}

const fakeScheduler = (clock: FakeClock) => {
  const timers: Array<{ at: number; task: () => void; live: boolean }> = []
  const scheduler: Scheduler = {
    schedule(delayMs, task) {
      const timer = { at: clock.now() + delayMs, task, live: true }
      timers.push(timer)
      return () => {
        timer.live = false
      }
    },
  }
  return {
    scheduler,
    pending: () => timers.filter((t) => t.live).length,
    async advance(ms: number) {
      clock.advance(ms)
      for (const timer of timers.filter((t) => t.live && t.at <= clock.now())) {
        timer.live = false
        timer.task()
      }
      await flush()
    },
  }
}

const fakeSocket = () => {
  const sent: Array<Record<string, unknown>> = []
  let closed: { code: number; reason: string } | null = null
  return {
    sent,
    closed: () => closed,
    send: (text: string) => void sent.push(JSON.parse(text) as Record<string, unknown>),
    close: (code: number, reason: string) => {
      closed = { code, reason }
    },
  }
}

const setup = (wrap: (events: ChannelEvents) => ChannelEvents = (e) => e) => {
  const config = parseConfig({ QRELAY_RATE_WRITES_PER_CHANNEL: '1000/60s' })
  const clock = fakeClock()
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  const bus = memoryChannelEvents()
  const events = wrap(bus)
  const limiter = rateLimiter(store.counters, clock)
  const random = seededRandom(3)
  // One key for every service built over this store, as processes sharing Redis have.
  const channelIdKeys = [new Uint8Array(32).fill(1)] as const
  const deps = { store, limiter, clock, random, limits: config.rendezvous, rates: config.rateLimit, channelIdKeys }
  const rendezvous = rendezvousService({ ...deps, events })
  const timers = fakeScheduler(clock)
  const limits = { helloTimeoutMs: 10_000, idleTimeoutMs: 60_000, maxFrameBytes: 30_000 }
  const relay = relayService({ rendezvous, events, clock, random, scheduler: timers.scheduler, limits })
  const caller = { clientKey: '192.0.2.1' }
  const open = (id: string) => {
    const socket = fakeSocket()
    return { socket, conn: relay.connect(id, socket, caller, silentLogger) }
  }
  return { clock, bus, rendezvous, deps, timers, relay, caller, open }
}

const hello = async (t: ReturnType<typeof setup>, id: string, secret?: string) => {
  const side = t.open(id)
  side.conn.text(JSON.stringify(secret === undefined ? { type: 'hello' } : { type: 'hello', secret }))
  await flush()
  return side
}

describe('relayService', () => {
  it('closes 4401 exactly when the hello timeout passes', async () => {
    const t = setup()
    const { socket } = t.open('any')
    await t.timers.advance(9_999)
    expect(socket.closed()).toBeNull()
    await t.timers.advance(1)
    expect(socket.closed()).toEqual({ code: 4401, reason: 'hello timeout' })
    expect(t.timers.pending()).toBe(0)
  })

  it('keeps one timer per socket, re-armed lazily when activity moved the idle deadline', async () => {
    const t = setup()
    const { record, creatorSecret } = await t.rendezvous.create('native', 'offer', t.caller)
    const { socket, conn } = await hello(t, record.id, creatorSecret)
    expect(socket.sent[0]).toMatchObject({ type: 'welcome', role: 'creator' })
    await t.timers.advance(30_000)
    conn.ping()
    await flush()
    expect(t.timers.pending()).toBe(1)
    await t.timers.advance(30_000)
    expect(socket.closed()).toBeNull()
    expect(t.timers.pending()).toBe(1)
    await t.timers.advance(30_000)
    expect(socket.closed()).toEqual({ code: 4408, reason: 'idle timeout' })
  })

  it('closes 4410 at the channel expiry', async () => {
    const t = setup()
    const { record, creatorSecret } = await t.rendezvous.create('native', '', t.caller)
    const { socket, conn } = await hello(t, record.id, creatorSecret)
    for (let i = 0; i < 3; i++) {
      await t.timers.advance(40_000)
      conn.text('{"type":"ping"}')
      await flush()
    }
    expect(socket.closed()).toEqual({ code: 4410, reason: 'expired' })
  })

  it('closes 4429 when frames pile up faster than they are handled', async () => {
    const t = setup()
    const { record, creatorSecret } = await t.rendezvous.create('native', '', t.caller)
    const { socket, conn } = t.open(record.id)
    // The hello waits on the store and the events: the pings behind it wait their turn.
    conn.text(JSON.stringify({ type: 'hello', secret: creatorSecret }))
    for (let i = 0; i < 40; i++) conn.text('{"type":"ping"}')
    await flush()
    expect(socket.closed()).toEqual({ code: 4429, reason: 'too many frames in flight' })
    expect(socket.sent.filter((f) => f.type === 'pong').length).toBeLessThanOrEqual(32)
  })

  it('answers frames handled at once as they come, however many (nothing waits)', async () => {
    const t = setup()
    const { record, creatorSecret } = await t.rendezvous.create('native', '', t.caller)
    const { socket, conn } = await hello(t, record.id, creatorSecret)
    for (let i = 0; i < 40; i++) conn.text('{"type":"ping"}')
    await flush()
    expect(socket.closed()).toBeNull()
    expect(socket.sent.filter((f) => f.type === 'pong')).toHaveLength(40)
  })

  it('leaves no subscription, timer or connection behind once a socket closes', async () => {
    const t = setup()
    const { record, creatorSecret } = await t.rendezvous.create('native', '', t.caller)
    const { conn } = await hello(t, record.id, creatorSecret)
    expect(t.bus.channelCount()).toBe(1)
    expect(t.relay.openCount()).toBe(1)
    conn.closed(1000)
    await flush()
    expect(t.bus.channelCount()).toBe(0)
    expect(t.relay.openCount()).toBe(0)
    expect(t.timers.pending()).toBe(0)
  })

  it('leaves no subscription behind when the socket closes while its hello is in flight', async () => {
    const t = setup()
    const { record, creatorSecret } = await t.rendezvous.create('native', '', t.caller)
    const { socket, conn } = t.open(record.id)
    conn.text(JSON.stringify({ type: 'hello', secret: creatorSecret }))
    conn.closed(1001)
    await flush()
    expect(socket.sent).toEqual([])
    expect(t.bus.channelCount()).toBe(0)
  })

  it('re-reads the record on resync and forwards a write it never heard of', async () => {
    const listeners: ChannelListener[] = []
    const t = setup((events) => ({
      ...events,
      subscribe: (id, listener) => {
        listeners.push(listener)
        return events.subscribe(id, listener)
      },
    }))
    const { record, creatorSecret } = await t.rendezvous.create('native', 'offer', t.caller)
    const { socket } = await hello(t, record.id, creatorSecret)
    // A write whose event was lost: made by a service that announces nothing.
    const silent = rendezvousService(t.deps)
    const joined = await silent.read('native', record.id, { clientKey: '198.51.100.9' })
    const written = await silent.write('native', record.id, 'answer', record.token, { clientKey: '198.51.100.9' }, joined.joinerSecret)
    for (const listener of listeners) listener({ type: 'resync' })
    await flush()
    expect(socket.sent.at(-1)).toEqual({ type: 'data', data: 'answer', sequence_token: written.record.token })
  })

  it('sends the data of a write whose event was lost right after the conflict it causes, once', async () => {
    const t = setup()
    const { record, creatorSecret } = await t.rendezvous.create('native', 'offer', t.caller)
    const creator = await hello(t, record.id, creatorSecret)
    // The joiner's write is stored, but its `written` event never arrives (a PUBLISH that failed on Redis).
    const silent = rendezvousService(t.deps)
    const joined = await silent.read('native', record.id, { clientKey: '198.51.100.9' })
    const written = await silent.write('native', record.id, 'answer', record.token, { clientKey: '198.51.100.9' }, joined.joinerSecret)
    const before = creator.socket.sent.length
    creator.conn.text(JSON.stringify({ type: 'put', sequence_token: record.token, data: 'late' }))
    await flush()
    expect(creator.socket.sent.slice(before)).toEqual([
      { type: 'conflict', sequence_token: written.record.token },
      { type: 'data', data: 'answer', sequence_token: written.record.token },
    ])
    // The event arriving late (a slow subscriber, not a lost one) sends nothing twice.
    await t.bus.publish(record.id, { type: 'written', token: written.record.token, by: 'joiner' })
    await flush()
    expect(creator.socket.sent).toHaveLength(before + 2)
    // And the creator answers on the token it was given.
    creator.conn.text(JSON.stringify({ type: 'put', sequence_token: written.record.token, data: 'reply' }))
    await flush()
    expect(creator.socket.sent.at(-1)).toMatchObject({ type: 'ack' })
    expect(creator.socket.closed()).toBeNull()
  })

  it('closes 1011 when it cannot subscribe', async () => {
    const t = setup((events) => ({ ...events, subscribe: () => Promise.reject(new Error('redis down')) }))
    const { record, creatorSecret } = await t.rendezvous.create('native', '', t.caller)
    const { socket } = await hello(t, record.id, creatorSecret)
    expect(socket.closed()).toEqual({ code: 1011, reason: 'internal error' })
  })

  it('closes every socket with 1001 on shutdown', async () => {
    const t = setup()
    const { record, creatorSecret } = await t.rendezvous.create('native', '', t.caller)
    const creator = await hello(t, record.id, creatorSecret)
    const waiting = t.open(record.id)
    t.relay.shutdown()
    expect(creator.socket.closed()?.code).toBe(1001)
    expect(waiting.socket.closed()?.code).toBe(1001)
    expect(t.relay.openCount()).toBe(0)
  })
})

describe('relayService after shutdown', () => {
  it('closes a socket that connects after shutdown at once with 1001', () => {
    const t = setup()
    t.relay.shutdown()
    const late = t.open('any')
    expect(late.socket.closed()).toEqual({ code: 1001, reason: 'server shutting down' })
    expect(t.relay.openCount()).toBe(0)
  })
})
