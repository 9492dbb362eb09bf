/**
 * What an event-loop turn costs on the Redis path (`node --import tsx bench/relay/redis-turns.ts`): CPU
 * of this process per fused channel read (`limitAndGet`, one Lua script) when K reads leave per turn,
 * against its own redis-server on the other core (this process pinned as the relay's servers are). The
 * per-read cost falls with K as the turn's fixed cost (a `writev` to Redis, the wait and the wake-up for
 * the reply) is shared: the slope tells what a process serving fewer requests per turn (two processes
 * sharing the load) pays per request.
 *
 * Knobs (environment): BENCH_TURN_SIZES (1,2,4,8,16), BENCH_READS (8000 per size), BENCH_REPS (2).
 */
import { openRedis } from '../../src/adapters/storage/redis-client.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { createChannel } from '../../src/core/rendezvous/channel.ts'
import { startRedis, type Child } from './processes.ts'

const SIZES = (process.env.BENCH_TURN_SIZES ?? '1,2,4,8,16').split(',').map((k) => Math.min(256, Math.max(1, Math.round(Number(k)))))
const READS = Math.min(1e6, Math.max(100, Number(process.env.BENCH_READS ?? 8000)))
const REPS = Math.min(20, Math.max(1, Number(process.env.BENCH_REPS ?? 2)))

const main = async (): Promise<void> => {
  let redis: { url: string; child: Child } | undefined
  try {
    redis = await startRedis(1)
    const client = openRedis({ kind: 'single', url: redis.url, tls: false }, { enableAutoPipelining: true, commandTimeoutMs: 5000 })
    const clock = { now: () => Date.now() }
    const store = redisStore({ client, keyPrefix: 'turns:', clock })
    const ids = Array.from({ length: Math.max(...SIZES) }, (_, i) => `${i}`.padStart(32, 'c'))
    for (const id of ids) {
      await store.channels.create(createChannel({ id, api: 'msc4388', data: 'x', now: clock.now(), ttlMs: 600_000 }), 1000)
    }
    const budget = { previousWeight: 0, currentWeight: 1, capacity: 1e12 }
    const read = (id: string) =>
      store.channels.limitAndGet!(id, { key: `read:${id}:c`, windowIndex: Math.floor(clock.now() / 60_000), ttlMs: 120_000, budget })
    // K reads started in one turn (a check-phase callback, as requests arrive in the poll phase), awaited together.
    const turn = (k: number): Promise<unknown> =>
      new Promise((resolve) => setImmediate(() => resolve(Promise.all(ids.slice(0, k).map(read)))))
    for (let rep = 0; rep < REPS; rep++) {
      for (const k of SIZES) {
        const turns = Math.ceil(READS / k)
        for (let i = 0; i < Math.min(turns, 500); i++) await turn(k)
        const before = process.cpuUsage()
        for (let i = 0; i < turns; i++) await turn(k)
        const cpu = process.cpuUsage(before)
        const per = (us: number): string => (us / (turns * k)).toFixed(1)
        process.stdout.write(
          `${k} per turn: ${per(cpu.user + cpu.system)} µs CPU per read (user ${per(cpu.user)}, system ${per(cpu.system)})\n`,
        )
      }
    }
    client.disconnect()
  } finally {
    await redis?.child.stop()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`redis-turns: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
