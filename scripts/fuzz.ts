/**
 * `npm run fuzz -- --requests N [--store memory|redis] [--seed S] [--max-seconds T] [--redis-url URL] [--report FILE]`
 *
 * Fuzzes a real qrelay server (127.0.0.1, port 0, in this process) with hostile and mutated-valid
 * requests and checks the invariants of test/fuzz/invariants.ts on every response. Bounded by the
 * request count and the time limit. With --store redis and no --redis-url, a throwaway redis-server
 * is started on a free loopback port and stopped afterwards. `--report FILE` writes the whole summary,
 * every violation included (the printed one shows three per kind), as JSON. Exits 1 when an invariant broke.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { formatSummary, runFuzz } from '../test/fuzz/run.ts'
import { startFuzzTarget } from '../test/fuzz/target.ts'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    store: { type: 'string', default: 'memory' },
    seed: { type: 'string', default: '42' },
    'max-seconds': { type: 'string', default: '1800' },
    'redis-url': { type: 'string' },
    'no-shrink': { type: 'boolean', default: false },
    report: { type: 'string' },
  },
})
const requests = Number(values.requests)
const seed = Number(values.seed)
const maxSeconds = Number(values['max-seconds'])
if (!Number.isInteger(requests) || requests < 1 || requests > 10_000_000) throw new Error('--requests must be 1..10000000')
if (!Number.isInteger(seed)) throw new Error('--seed must be an integer')
if (!(maxSeconds > 0 && maxSeconds <= 86_400)) throw new Error('--max-seconds must be 1..86400')
if (values.store !== 'memory' && values.store !== 'redis') throw new Error('--store must be memory or redis')

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })

/** A throwaway redis-server (no persistence), stopped by its PID. */
const startRedis = async (): Promise<{ url: string; child: ChildProcess }> => {
  const port = await freePort()
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory', '512mb'],
    { stdio: 'ignore' },
  )
  const url = `redis://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await client.connect()
      if ((await client.ping()) === 'PONG') {
        client.disconnect()
        return { url, child }
      }
    } catch {
      // not up yet
    }
    client.disconnect()
    await new Promise((r) => setTimeout(r, 50))
  }
  child.kill('SIGKILL')
  throw new Error('redis-server did not start')
}

let crashes = 0
process.on('uncaughtException', (error) => {
  crashes++
  console.error('uncaught exception (counts as a crash):', error)
})
process.on('unhandledRejection', (error) => {
  crashes++
  console.error('unhandled rejection (counts as a crash):', error)
})

const redis =
  values.store === 'redis'
    ? values['redis-url'] === undefined
      ? await startRedis()
      : { url: values['redis-url'], child: undefined }
    : undefined
const target = await startFuzzTarget({ store: values.store, ...(redis === undefined ? {} : { redisUrl: redis.url }) })
let summary
try {
  summary = await runFuzz(target, {
    requests,
    seed,
    timeBudgetMs: maxSeconds * 1000,
    shrink: !values['no-shrink'],
    onProgress: (n) => {
      if (n % 10_000 === 0) console.error(`… ${n} requests`)
    },
  })
} finally {
  await target.stop()
  redis?.child?.kill('SIGTERM')
}
console.log(formatSummary(summary, values.store))
if (values.report !== undefined) writeFileSync(values.report, JSON.stringify(summary, null, 1))
if (crashes > 0) console.log(`crashes (uncaught exceptions / rejections): ${crashes}`)
process.exit(summary.violations.length > 0 || crashes > 0 ? 1 : 0)
