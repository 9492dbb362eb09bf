/**
 * `npm run fuzz -- --requests N [--store memory|redis] [--seed S] [--max-seconds T] [--redis-url URL] [--report FILE]`
 *
 * Fuzzes a real qrelay server (127.0.0.1, port 0, in this process) with hostile and mutated-valid
 * requests and checks the invariants of test/fuzz/invariants.ts on every response. Bounded by the
 * request count and the time limit. With --store redis and no --redis-url, a throwaway redis-server
 * is started on a free loopback port and stopped afterwards. `--report FILE` writes the whole summary,
 * every kept violation included (the printed one shows three per kind), as JSON, and `FILE.partial` every
 * 10 000 requests. A signal (SIGINT, SIGTERM, SIGHUP), an error of the run or an emptied event loop
 * still prints the figures so far, marked partial. Exits 1 when an invariant broke or the run was cut.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { emptySummary, formatSummary, runFuzz, violationTotal } from '../test/fuzz/run.ts'
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

const summary = emptySummary(seed)
/** Where the run is, for a partial summary: which await never settled. */
let stage = 'starting'
let crashes = 0
let reported = false
/**
 * Prints the summary (partial when `why` says so) and writes the report, once. Every way out goes
 * through here: the end, a signal, an error of the run, the event loop emptying under a pending await
 * (Node would exit 13 with no figures), so that a run always ends with its figures.
 */
const report = (why?: string): void => {
  if (reported) return
  reported = true
  if (why !== undefined) summary.stoppedBy ??= why
  console.log(formatSummary(summary, why === undefined ? values.store : `${values.store} (partial: ${why})`))
  if (values.report !== undefined) writeFileSync(values.report, JSON.stringify(summary, null, 1))
  if (crashes > 0) console.log(`crashes (uncaught exceptions / rejections): ${crashes}`)
}
/** A figures file written as the run goes (every 10 000 requests), for a run killed without warning (SIGKILL, OOM). */
const checkpoint = (): void => {
  if (values.report !== undefined) writeFileSync(`${values.report}.partial`, JSON.stringify(summary, null, 1))
}
process.on('uncaughtException', (error) => {
  crashes++
  console.error('uncaught exception (counts as a crash):', error)
})
process.on('unhandledRejection', (error) => {
  crashes++
  console.error('unhandled rejection (counts as a crash):', error)
})
process.on('beforeExit', () => {
  if (reported) return
  report(`the event loop emptied while the run awaited (${stage})`)
  process.exitCode = 1
})
const stop = new AbortController()
let redis: { url: string; child: ChildProcess | undefined } | undefined
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    // First the loop stops between two requests; if it hangs, the figures are printed anyway.
    stop.abort(signal)
    setTimeout(() => {
      report(signal)
      redis?.child?.kill('SIGTERM')
      process.exit(1)
    }, 15_000).unref()
  })
}

let failed = false
try {
  redis =
    values.store === 'redis'
      ? values['redis-url'] === undefined
        ? await startRedis()
        : { url: values['redis-url'], child: undefined }
      : undefined
  const target = await startFuzzTarget({ store: values.store, ...(redis === undefined ? {} : { redisUrl: redis.url }) })
  try {
    stage = 'running'
    await runFuzz(
      target,
      {
        requests,
        seed,
        timeBudgetMs: maxSeconds * 1000,
        shrink: !values['no-shrink'],
        signal: stop.signal,
        onProgress: (n) => {
          if (n % 10_000 === 0) {
            console.error(`… ${n} requests, ${summary.fiveHundreds} 5xx, ${violationTotal(summary)} violations`)
            checkpoint()
          }
        },
      },
      summary,
    )
  } finally {
    stage = 'stopping the target'
    // The server's shutdown grace timer is unref'd: with nothing else on the event loop, a close still
    // waiting on a connection left the process to exit before it fired (no figures). This ref'd timer
    // keeps the loop alive past that grace, bounded.
    const guard = setTimeout(() => {}, 60_000)
    const stopping = Date.now()
    try {
      await target.stop()
    } finally {
      clearTimeout(guard)
    }
    console.error(`target stopped in ${Date.now() - stopping} ms`)
    stage = 'stopped'
  }
} catch (error) {
  failed = true
  console.error('the run failed:', error)
  report(`error: ${error instanceof Error ? error.message : String(error)}`)
} finally {
  redis?.child?.kill('SIGTERM')
}
report(stop.signal.aborted ? String(stop.signal.reason) : undefined)
process.exit(failed || violationTotal(summary) > 0 || crashes > 0 || stop.signal.aborted ? 1 : 0)
