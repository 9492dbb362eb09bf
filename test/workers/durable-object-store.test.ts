/**
 * The Durable Object store inside workerd: the shared ephemeral-store conformance suite, then what only
 * this adapter has (reservations spread over shards, the alarm freeing an expired channel's storage).
 */
import { env } from 'cloudflare:workers'
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { durableObjectStore } from '../../src/adapters/storage/durable-object.ts'
import { channelObjectName } from '../../src/adapters/storage/opaque-key.ts'
import { createChannel } from '../../src/core/rendezvous/channel.ts'
import { describeEphemeralStore } from '../integration/storage/conformance.ts'
import { fakeClock, type FakeClock } from '../helpers/fake-clock.ts'

let serial = 0
const freshPrefix = (): string => `t${Date.now().toString(36)}-${serial++}:`
/** A store over the test Worker's bindings, under a fresh name prefix: every store starts empty. */
const makeStore = (clock: FakeClock, shards?: number, namePrefix = freshPrefix()) =>
  durableObjectStore({
    channels: env.RELAY_CHANNEL,
    counters: env.RELAY_COUNTER,
    clock,
    namePrefix,
    ...(shards === undefined ? {} : { shards }),
  })

describeEphemeralStore('durable-object', (clock) => makeStore(clock))

describe('durableObjectStore', () => {
  const record = (clock: FakeClock, id: string, ttlMs = 120_000) => createChannel({ id, api: 'msc4388', data: '', now: clock.now(), ttlMs })

  it('counts live channels over every shard when a large cap spreads reservations', async () => {
    const clock = fakeClock(Date.now())
    const prefix = freshPrefix()
    const store = makeStore(clock, 8, prefix)
    for (let i = 0; i < 24; i++) expect(await store.channels.create(record(clock, `spread-${i}`), 1_000_000)).toBe('ok')
    expect(await store.channels.liveCount()).toBe(24)
    const perShard = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        runInDurableObject(env.RELAY_COUNTER.getByName(`${prefix}shard:${i}`), (_, state) =>
          Number(state.storage.sql.exec('SELECT count(*) AS n FROM live').one().n),
        ),
      ),
    )
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(24)
    expect(perShard.filter((n) => n > 0).length).toBeGreaterThan(1)
    expect(await store.channels.delete('spread-3')).toBe(true)
    expect(await store.channels.liveCount()).toBe(23)
  })

  it('keeps the reservation of a live channel when its id is created again', async () => {
    const clock = fakeClock(Date.now())
    const store = makeStore(clock)
    const first = record(clock, 'twice')
    expect(await store.channels.create(first, 10)).toBe('ok')
    expect(await store.channels.create(first, 10)).toBe('exists')
    expect(await store.channels.liveCount()).toBe(1)
    expect(await store.channels.takeOnce('twice')).toEqual(first)
    expect(await store.channels.liveCount()).toBe(0)
  })

  const storeWithPrefix = (clock: FakeClock, prefix: string) => makeStore(clock, undefined, prefix)
  const storedChannel = (stub: DurableObjectStub) => runInDurableObject(stub, (_, state) => state.storage.kv.get('channel'))

  it('frees an expired channel storage when its alarm runs', async () => {
    // Created on a clock 200 s in the past: by the object's own clock the record has already expired,
    // so workerd may fire the alarm at once; either way, once it has run the storage is empty.
    const clock = fakeClock(Date.now() - 200_000)
    const prefix = `alarm-old-${Date.now().toString(36)}:`
    expect(await storeWithPrefix(clock, prefix).channels.create(record(clock, 'old'), 10)).toBe('ok')
    const stub = env.RELAY_CHANNEL.getByName(`${prefix}ch:old`)
    await runDurableObjectAlarm(stub)
    expect(await storedChannel(stub)).toBeUndefined()
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull()
  })

  it('keeps a live channel and re-arms when its alarm runs early', async () => {
    const clock = fakeClock(Date.now())
    const prefix = `alarm-live-${Date.now().toString(36)}:`
    const live = record(clock, 'live', 60_000)
    expect(await storeWithPrefix(clock, prefix).channels.create(live, 10)).toBe('ok')
    const stub = env.RELAY_CHANNEL.getByName(channelObjectName('live', prefix))
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    expect(await storedChannel(stub)).toMatchObject({ record: live })
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBe(live.expiresAtMs)
  })
})
