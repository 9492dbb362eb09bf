/**
 * `rendezvousNow`, the Matrix channel requests answered at once on the memory store (the Node
 * fast path's way), against the service's asynchronous methods (the Hono app's): random sequences of
 * creates, reads, writes and deletes on both APIs, by several clients, with time passing, run on two
 * services of the same seed, must give the same outcomes (values and errors), the same records, the
 * same rate-limit and abuse counters, and the same events. Deployments where a step has to wait (an
 * abuse guard, channel-id keys loaded from elsewhere) answer some requests with a promise: those run
 * too.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memoryChannelEvents } from '../../../src/adapters/pubsub/memory.ts'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { parseConfig } from '../../../src/config.ts'
import { abuseWindowIndex } from '../../../src/core/policy/abuse.ts'
import { windowAt, type RateRule } from '../../../src/core/policy/rate-limit.ts'
import type { ChannelSignal } from '../../../src/core/relay/channel-event.ts'
import { mintChannelId, type ChannelIdKeys } from '../../../src/core/rendezvous/channel-id.ts'
import { abuseGuardFor, abuseThresholdsOf, sourceKeyOf } from '../../../src/services/abuse-guard.ts'
import { counterKey } from '../../../src/services/abuse-state.ts'
import { rateKey, rateLimiter } from '../../../src/services/rate-limiter.ts'
import { rendezvousService } from '../../../src/services/rendezvous.ts'
import { rendezvousNow, type MatrixApi } from '../../../src/services/rendezvous-now.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const CLIENTS = ['192.0.2.1', '198.51.100.7', '203.0.113.9'] as const
const FOREIGN_KEY = new Uint8Array(32).fill(7)

interface Deployment {
  env: Record<string, string>
  abuse?: boolean
  /** Channel-id keys loaded from elsewhere (as on Redis): the first requests wait for them. */
  loadedKeys?: boolean
}

const setup = (deployment: Deployment, now: boolean) => {
  const config = parseConfig({
    QRELAY_RATE_READS_PER_CHANNEL: '3/60s',
    QRELAY_RATE_WRITES_PER_CHANNEL: '2/60s',
    QRELAY_RATE_CREATE_PER_CLIENT: '4/60s',
    QRELAY_MAX_LIVE_CHANNELS: '3',
    QRELAY_MAX_PAYLOAD_BYTES: '64',
    QRELAY_MSC4108_TTL_SECONDS: '30',
    QRELAY_MSC4388_TTL_SECONDS: '60',
    ...deployment.env,
  })
  const clock = fakeClock()
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  const events = memoryChannelEvents()
  const abuse =
    deployment.abuse === true
      ? abuseGuardFor({ ...config.abuse, exemptLoopback: false }, { counters: store.counters, kv: store.kv, clock })
      : undefined
  const keys: ChannelIdKeys = [new Uint8Array(32).fill(3)]
  const rendezvous = rendezvousService({
    store,
    limiter: rateLimiter(store.counters, clock),
    clock,
    random: seededRandom(11),
    limits: config.rendezvous,
    rates: config.rateLimit,
    events,
    ...(abuse === undefined ? {} : { abuse }),
    ...(deployment.loadedKeys === true ? { channelIdKeys: () => new Promise<ChannelIdKeys>((r) => setTimeout(() => r(keys), 1)) } : {}),
  })
  const matrixNow = rendezvousNow(rendezvous.inProcessParts)
  if (matrixNow === undefined) throw new Error('the memory store answers in process')
  /** The request answered as the chosen path answers it, as a promise either way. */
  const run = <T>(answer: () => T | Promise<T>): Promise<T> => {
    try {
      return Promise.resolve(answer())
    } catch (error) {
      return Promise.reject(error)
    }
  }
  const service = {
    create: (api: MatrixApi, data: string, caller: { clientKey: string }) =>
      now ? run(() => matrixNow.create(api, data, caller)) : rendezvous.create(api, data, caller),
    read: (api: MatrixApi, id: string, caller: { clientKey: string }) =>
      now ? run(() => matrixNow.read(api, id, caller)) : rendezvous.read(api, id, caller, null),
    write: (api: MatrixApi, id: string, data: string, token: string, caller: { clientKey: string }) =>
      now ? run(() => matrixNow.write(api, id, data, token, caller)) : rendezvous.write(api, id, data, token, caller, null),
    remove: (api: MatrixApi, id: string, caller: { clientKey: string }) =>
      now ? run(() => matrixNow.remove(api, id, caller)) : rendezvous.remove(api, id, caller, null),
  }
  return { config, clock, store, events, service, thresholds: abuseThresholdsOf(config.abuse) }
}

type Setup = ReturnType<typeof setup>

const client = fc.constantFrom(0, 0, 0, 1, 2)
/** Mostly the latest channel (so its limits are reached), sometimes older ones or unknown ids. */
const channel = fc.constantFrom(0, 0, 0, 0, 1, 2, 3)
const step = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      api: fc.constantFrom<MatrixApi>('msc4388', 'msc4388', 'msc4108'),
      client,
      data: fc.constantFrom('', 'offer', '', '\u20ac'.repeat(30)),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      api: fc.constantFrom<MatrixApi>('msc4388', 'msc4388', 'msc4108'),
      client,
      channel,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      api: fc.constantFrom<MatrixApi>('msc4388', 'msc4388', 'msc4108'),
      client,
      channel,
      token: fc.constantFrom('current', 'current', 'first', 'made-up'),
      data: fc.constantFrom('answer', 'offer', '', '\u20ac'.repeat(22)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('remove' as const),
      api: fc.constantFrom<MatrixApi>('msc4388', 'msc4388', 'msc4108'),
      client,
      channel,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(1000, 1000, 20_000, 45_000, 61_000) }) },
)
type Step = typeof step extends fc.Arbitrary<infer S> ? S : never

/** What a request came to: its value, or its error's code, detail, retry hint and cause. */
const outcome = async (answer: Promise<unknown>): Promise<unknown> => {
  try {
    return { value: await answer }
  } catch (error) {
    const { code, detail, retryAfterMs, cause } = error as { code: string; detail?: string; retryAfterMs?: number; cause?: unknown }
    return { code, detail, retryAfterMs, cause }
  }
}

/** Plays `steps`; every outcome, then each channel's record and counters and every event heard. */
const play = async (t: Setup, steps: readonly Step[]) => {
  const ids: string[] = []
  const firstTokens = new Map<string, string>()
  const latest = new Map<string, string>()
  const heard: [string, ChannelSignal][] = []
  // Ids no one minted here: one of the right shape under another key, and made-up text.
  const unknown = [mintChannelId([FOREIGN_KEY], new Uint8Array(16).fill(1)), 'not-a-channel']
  const idOf = (n: number): string => (n < ids.length ? ids[ids.length - 1 - n]! : unknown[n % 2]!)
  const outcomes: unknown[] = []
  for (const s of steps) {
    if (s.kind === 'advance') {
      t.clock.advance(s.ms)
      continue
    }
    const caller = { clientKey: CLIENTS[s.client]! }
    if (s.kind === 'create') {
      const done = await outcome(t.service.create(s.api, s.data, caller))
      const record = (done as { value?: { record: { id: string; token: string } } }).value?.record
      if (record !== undefined) {
        ids.push(record.id)
        firstTokens.set(record.id, record.token)
        latest.set(record.id, record.token)
        await t.events.subscribe(record.id, (signal) => void heard.push([record.id, signal]))
      }
      outcomes.push(done)
    } else if (s.kind === 'read') outcomes.push(await outcome(t.service.read(s.api, idOf(s.channel), caller)))
    else if (s.kind === 'remove') outcomes.push(await outcome(t.service.remove(s.api, idOf(s.channel), caller)))
    else {
      const id = idOf(s.channel)
      const token = s.token === 'current' ? (latest.get(id) ?? 'none') : s.token === 'first' ? (firstTokens.get(id) ?? 'none') : 'made-up'
      const done = await outcome(t.service.write(s.api, id, s.data, token, caller))
      const next = (done as { value?: { record: { token: string } } }).value?.record.token
      if (next !== undefined) latest.set(id, next)
      outcomes.push(done)
    }
  }
  const now = t.clock.now()
  /** The counts of the rate-limit counter `key` in the current and the previous window of `rule` (read by hitting later windows). */
  const windows = async (key: string, rule: RateRule) => {
    const { index } = windowAt(rule, now)
    return [await t.store.counters.hitWindow(rateKey(key), index + 1, 1), await t.store.counters.hitWindow(rateKey(key), index, 1)]
  }
  const channels = []
  for (const id of ids) {
    const counts = []
    for (const client of CLIENTS) {
      counts.push(await windows(`read:${id}:${client}`, t.config.rateLimit.readsPerChannel))
      counts.push(await windows(`write:${id}:${client}`, t.config.rateLimit.writesPerChannel))
    }
    channels.push({ record: await t.store.channels.get(id), counts })
  }
  const perClient = []
  for (const client of CLIENTS) {
    const create = await windows(`create:${client}`, t.config.rateLimit.createPerClient)
    const abuseWindow = abuseWindowIndex(now, t.thresholds)
    const signals = []
    for (const signal of ['channel_created', 'channel_completed'] as const) {
      signals.push(await t.store.counters.read(counterKey(sourceKeyOf(client), abuseWindow, signal)))
    }
    perClient.push({ create, signals })
  }
  return { outcomes, channels, perClient, live: await t.store.channels.liveCount(), heard }
}

describe.each<[string, Deployment]>([
  ['memory, no abuse guard (every request at once)', { env: { QRELAY_ABUSE_ENABLED: 'false' } }],
  ['memory with an abuse guard (creates and first answers wait for it)', { env: {}, abuse: true }],
  ['memory with channel-id keys loaded from elsewhere', { env: { QRELAY_ABUSE_ENABLED: 'false' }, loadedKeys: true }],
])('rendezvousNow against the asynchronous methods, %s', (_name, deployment) => {
  it('gives the same outcomes, records, counters and events for any sequence of requests', async () => {
    const seenCodes = new Set<string>()
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 40, size: 'max' }), async (steps) => {
        const viaPromises = await play(setup(deployment, false), steps)
        const atOnce = await play(setup(deployment, true), steps)
        expect(atOnce).toStrictEqual(viaPromises)
        for (const o of viaPromises.outcomes) seenCodes.add((o as { code?: string }).code ?? 'ok')
      }),
      { numRuns: 150 },
    )
    // The sequences reach every answer the requests can give here.
    expect([...seenCodes].sort()).toEqual(['CAPACITY_EXCEEDED', 'CONCURRENT_WRITE', 'NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'RATE_LIMITED', 'ok'])
  })
})

describe('rendezvousNow', () => {
  it('answers a plain cycle without a promise, and is absent on a store that is not in this process', async () => {
    const t = setup({ env: { QRELAY_ABUSE_ENABLED: 'false' } }, true)
    const clock = fakeClock()
    const store = memoryStore({ clock, sweepIntervalMs: 0 })
    const rendezvous = rendezvousService({
      store,
      limiter: rateLimiter(store.counters, clock),
      clock,
      random: seededRandom(3),
      limits: t.config.rendezvous,
      rates: t.config.rateLimit,
    })
    const now = rendezvousNow(rendezvous.inProcessParts)!
    const caller = { clientKey: '192.0.2.1' }
    const created = now.create('msc4388', 'offer', caller)
    expect(created).not.toBeInstanceOf(Promise)
    const { record } = created as Exclude<typeof created, Promise<unknown>>
    const written = now.write('msc4388', record.id, 'answer', record.token, caller)
    expect(written).toMatchObject({ changed: true, record: { data: 'answer', version: 1 } })
    expect(now.read('msc4388', record.id, caller)).toMatchObject({ record: { data: 'answer' } })
    expect(now.remove('msc4388', record.id, caller)).toBeUndefined()
    expect(() => now.read('msc4388', record.id, caller)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }))
    const { inProcess: _, ...elsewhere } = store
    const shared = rendezvousService({
      store: elsewhere,
      limiter: rateLimiter(store.counters, clock),
      clock,
      random: seededRandom(3),
      limits: t.config.rendezvous,
      rates: t.config.rateLimit,
    })
    expect(rendezvousNow(shared.inProcessParts)).toBeUndefined()
  })
})
