/**
 * The ephemeral store and the channel events on a real 3-primary Redis Cluster (test/helpers/redis-cluster.ts):
 * the same conformance suites as on one Redis, so no script may touch keys of two slots (the cluster
 * answers CROSSSLOT), and the channel keys must spread over the nodes instead of sitting on one.
 */
import { Cluster, Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { redisChannelEvents } from '../../../src/adapters/pubsub/redis.ts'
import { LIVE_SHARDS } from '../../../src/adapters/storage/redis-channels.ts'
import { openRedis } from '../../../src/adapters/storage/redis-client.ts'
import { redisScript } from '../../../src/adapters/storage/redis-script.ts'
import { redisStore } from '../../../src/adapters/storage/redis.ts'
import { createChannel } from '../../../src/core/rendezvous/channel.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { uniquePrefix } from '../../helpers/redis.ts'
import { clusterClient, runCluster } from '../../helpers/redis-cluster.ts'

const nodesOf = (c: { ports: number[] }) => c.ports.map((port) => ({ host: '127.0.0.1', port }))
import { describeEphemeralStore } from './conformance.ts'
import { describeChannelEvents, eventually, recorder } from './events-conformance.ts'

const run = runCluster()
if (run === null) {
  describe.skip('EphemeralStore on Redis Cluster (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  const cluster = () => run

  describeEphemeralStore('redis cluster', (clock) => {
    const client = clusterClient(cluster())
    const store = redisStore({ client, keyPrefix: uniquePrefix('cconf'), clock })
    return { ...store, close: async () => void (await client.quit()) }
  })

  describeChannelEvents('redis cluster (sharded pub/sub)', () => {
    const keyPrefix = uniquePrefix('cevents')
    const clients = [clusterClient(cluster()), clusterClient(cluster())]
    const [a, b] = clients.map((client) => redisChannelEvents({ client, keyPrefix })) as [
      ReturnType<typeof redisChannelEvents>,
      ReturnType<typeof redisChannelEvents>,
    ]
    return {
      a,
      b,
      channelCount: () => a.channelCount() + b.channelCount(),
      close: async () => {
        await Promise.all([a.close(), b.close()])
        await Promise.all(clients.map((client) => client.quit()))
      },
    }
  })

  describe('redisChannelEvents on Redis Cluster', () => {
    it('resubscribes after a sharded subscriber connection is killed and tells every listener to resync', async () => {
      const tag = `evkill${process.pid}x${Date.now()}`
      const keyPrefix = uniquePrefix('ckill')
      const clients = [0, 1].map(() => new Cluster(nodesOf(cluster()), { redisOptions: { maxRetriesPerRequest: 2, connectionName: tag } }))
      const [a, b] = clients.map((client) => redisChannelEvents({ client, keyPrefix })) as [
        ReturnType<typeof redisChannelEvents>,
        ReturnType<typeof redisChannelEvents>,
      ]
      try {
        const r = recorder()
        await b.subscribe('k1', r.listener)
        await a.publish('k1', { type: 'attached', role: 'creator', conn: 'c1' })
        await eventually(() => r.heard.length === 1)
        let killed = 0
        for (const port of cluster().ports) {
          const admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 })
          const list = String(await admin.client('LIST'))
          for (const line of list.split('\n').filter((l) => l.includes('ssubscriber') && l.includes(tag) && / ssub=[1-9]/.test(l))) {
            await admin.client('KILL', 'ID', /(?:^|\s)id=(\d+)/.exec(line)?.[1] as string)
            killed++
          }
          await admin.quit()
        }
        expect(killed).toBe(1)
        await eventually(() => r.heard.some((signal) => signal.type === 'resync'), 1000)
        await a.publish('k1', { type: 'deleted', by: 'joiner' })
        await eventually(() => r.heard.some((signal) => signal.type === 'deleted'))
        expect(r.heard).toEqual([{ type: 'attached', role: 'creator', conn: 'c1' }, { type: 'resync' }, { type: 'deleted', by: 'joiner' }])
      } finally {
        await Promise.all([a.close(), b.close()])
        await Promise.all(clients.map((client) => client.quit()))
      }
    })
  })

  describe('redisStore on Redis Cluster', () => {
    it('is checked by a cluster that refuses a script over keys of two slots', async () => {
      // So every conformance case above that passes ran each of its scripts on one slot.
      const client = clusterClient(cluster())
      try {
        await expect(client.eval("return redis.call('GET', KEYS[2])", 2, '{a}x', '{b}x')).rejects.toThrow(/CROSSSLOT/)
      } finally {
        await client.quit()
      }
    })

    it('spreads channel records and the live-channel cap over every primary', async () => {
      const client = clusterClient(cluster())
      const keyPrefix = uniquePrefix('spread')
      const clock = fakeClock(Date.now())
      const store = redisStore({ client, keyPrefix, clock })
      try {
        for (let i = 0; i < 60; i++) {
          const record = createChannel({ id: `spread-${i}-${Date.now()}`, api: 'msc4388', data: '', now: clock.now(), ttlMs: 60_000 })
          expect(await store.channels.create(record, 1000)).toBe('ok')
        }
        expect(await store.channels.liveCount()).toBe(60)
        const perNode = await Promise.all(client.nodes('master').map(async (node) => (await node.keys(`${keyPrefix}*`)).length))
        expect(perNode).toHaveLength(3)
        for (const count of perNode) expect(count).toBeGreaterThan(0)
        const shards = await Promise.all(client.nodes('master').map((node) => node.keys(`${keyPrefix}{live:*`)))
        expect(shards.flat().length).toBeGreaterThan(LIVE_SHARDS / 2)
      } finally {
        await client.quit()
      }
    })

    // The runtime's client auto-pipelines, and ioredis copies a client's commands into each pipeline when it
    // makes one: a script defined at its first call was missing from the pipelines of that turn, its call threw,
    // and the pipeline's reply handler crashed the process on the missing reply (seen under load).
    it("finding 27: runs every script's first call on the runtime's auto-pipelining client in a turn busy with other commands", async () => {
      const client = openRedis(
        { kind: 'cluster', nodes: nodesOf(cluster()), tls: false },
        { enableAutoPipelining: true, commandTimeoutMs: 5000 },
      )
      const keyPrefix = uniquePrefix('firstcall')
      const clock = fakeClock(Date.now())
      try {
        await client.set(`${keyPrefix}{warm}`, '1')
        const store = redisStore({ client, keyPrefix, clock })
        const record = createChannel({ id: `first-${Date.now()}`, api: 'msc4388', data: '', now: clock.now(), ttlMs: 60_000 })
        const budget = { previousWeight: 0, currentWeight: 1, capacity: 100 }
        const limit = { key: `rl:get:${record.id}`, windowIndex: 1, ttlMs: 60_000, budget }
        // Plain commands on keys of every node first, then the scripts, all in one turn.
        const busy = Array.from({ length: 30 }, (_, i) => client.get(`${keyPrefix}busy:${i}`))
        const first = await Promise.all([
          ...busy,
          store.counters.increment(`${keyPrefix}n`, 60_000),
          store.counters.hitWindow('hit', 7, 60_000),
          store.counters.reserveWindow('reserve', 7, 60_000, budget),
          store.kv.put('kv', 'v', 60_000),
          store.channels.create(record, 1000),
          store.channels.limitAndGet?.(record.id, limit),
        ])
        expect(first.slice(0, busy.length)).toEqual(busy.map(() => null))
        expect(first.slice(busy.length, busy.length + 1)).toEqual([1])
        expect(await store.channels.get(record.id)).toMatchObject({ id: record.id })
        const undefinedScript = redisScript<number>('qrTestNeverDefined', "return redis.call('INCR', KEYS[1])", 1)
        await expect(undefinedScript(client, [`${keyPrefix}x`])).rejects.toThrow(/not defined on this cluster client/)
      } finally {
        await client.quit()
      }
    })
  })
}
