/**
 * A process started while its Redis Cluster is down: the change notices' sharded SSUBSCRIBE cannot be
 * made at start, and once the cluster answers the topic is subscribed after all, so a change on another
 * process wakes the waiters here at once. The one-Redis case is `notices-late-redis.redis.test.ts`, where
 * the SUBSCRIBE fails and the adapter subscribes again at `ready` (docs/security/faults.md, "Fixed
 * here"). On a cluster, ioredis' sharded subscribers hold the SSUBSCRIBE until the cluster answers (the
 * listen waits instead of failing): this pins that outcome, whichever of the two paths gives it.
 *
 * The cluster is this file's own (the run's shared one stays up): its nodes are killed by PID and
 * started again with the same arguments, so they come back from their `nodes.conf` with the same slots.
 */
import type { ChildProcess } from 'node:child_process'
import { Cluster } from 'ioredis'
import { afterAll, expect, it } from 'vitest'
import { redisChangeNotices, type RedisChangeNotices } from '../../src/adapters/pubsub/redis-notices.ts'
import { openRedis, type RedisClient } from '../../src/adapters/storage/redis-client.ts'
import { changeWaiters, sharedChangeWaiters } from '../../src/services/change-waiters.ts'
import {
  askNode,
  hasRedisServer,
  startRedisCluster,
  startRedisServer,
  stopChild,
  waitFor,
  type RedisClusterProcess,
} from '../helpers/redis-cluster.ts'

const settled = async (promise: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))])

let cluster: RedisClusterProcess | undefined
const restarted: ChildProcess[] = []
const clients: RedisClient[] = []
const notices: RedisChangeNotices[] = []
afterAll(async () => {
  await Promise.all(notices.map((n) => n.close()))
  for (const client of clients) client.disconnect()
  await Promise.all(restarted.map(stopChild))
  await cluster?.stop()
})

const processOn = (ports: number[], origin: string) => {
  const client = openRedis(
    { kind: 'cluster', nodes: ports.map((port) => ({ host: '127.0.0.1', port })), tls: false },
    { commandTimeoutMs: 1000 },
  )
  client.on('error', () => {})
  clients.push(client)
  const n = redisChangeNotices({ client, keyPrefix: 'late:', origin, onError: () => {} })
  notices.push(n)
  return sharedChangeWaiters(changeWaiters(true), n, 'grant', (key) => `name-${key}`)
}

it.skipIf(!hasRedisServer())(
  'subscribes the notices once a Redis Cluster that was down at start answers',
  async () => {
    cluster = await startRedisCluster()
    const { ports, pids, nodeArgs } = cluster
    for (const pid of pids) process.kill(pid, 'SIGKILL')
    for (const port of ports) await waitFor(`node ${port} down`, async () => (await askNode(port, 'PING')) === null)

    const late = processOn(ports, 'late')
    // Nothing answers: the topic cannot be subscribed yet (here the listen waits; it may also fail).
    const early = await Promise.race([
      late.ready.then(
        () => 'subscribed',
        () => 'failed',
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('waiting'), 1500)),
    ])
    expect(early).not.toBe('subscribed')

    for (const args of nodeArgs) restarted.push(await startRedisServer(args))
    for (const port of ports) {
      await waitFor(
        `cluster_state:ok on ${port}`,
        async () => ((await askNode(port, 'CLUSTER', 'INFO')) ?? '').includes('cluster_state:ok'),
        20_000,
      )
    }
    // The topic's sharded subscriber shows up on the node that owns its slot.
    const probe = new Cluster(
      ports.map((port) => ({ host: '127.0.0.1', port })),
      { redisOptions: { maxRetriesPerRequest: 1 } },
    )
    try {
      await waitFor(
        'the late process subscribed',
        async () => {
          const counts = await Promise.all(
            probe.nodes('master').map(async (node) => {
              const [, count] = (await node.call('PUBSUB', 'SHARDNUMSUB', 'late:notice:grant')) as [string, number]
              return Number(count)
            }),
          )
          return counts.some((count) => count > 0)
        },
        20_000,
      )
    } finally {
      probe.disconnect()
    }

    const other = processOn(ports, 'other')
    await other.ready
    const waiting = late.nextChange('g1', 20_000)
    other.changed('g1')
    expect(await settled(waiting, 5_000)).toBe(true)
  },
  60_000,
)
