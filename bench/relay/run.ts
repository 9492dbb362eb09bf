/**
 * Relay HTTP benchmark (`npm run bench:relay`): the MSC4388 login cycle (create → PUT → GET → GET →
 * DELETE, see `load.ts`) against a bare `node:http` + Map baseline, the same on Hono (the framework's
 * floor), qrelay on the memory store and qrelay on Redis, all in the same run. Servers are pinned to
 * core 0, the load generator (and Redis) to core 1. After a warm-up per target, rounds run the targets
 * in turn, so noise from the machine spreads over all of them; the report gives medians, ranges, ratios
 * to the baseline, and requests per server CPU second (which other processes' load disturbs less).
 *
 * `redis-2proc` runs two qrelay processes on the same Redis (both on the server core), the connections
 * split over them, and counts both processes' CPU: against `redis`, it tells what scaling out costs
 * per request.
 *
 * Knobs (environment): BENCH_SECONDS (10), BENCH_REPS (3), BENCH_WARMUP_SECONDS (3), BENCH_WARMUP_REQUESTS (15000
 * per server process: warm-up runs of BENCH_WARMUP_SECONDS repeat until each process served that many; 0 in the smoke),
 * BENCH_CONNECTIONS (32), BENCH_TARGETS (bare,hono,memory,memory-info,memory-metrics,redis,redis-info,redis-2proc),
 * BENCH_JSON (file for the raw results), BENCH_CPU_PROF (directory: qrelay servers run with
 * `--cpu-prof` there), REDIS_URL (use that Redis instead of starting one), BENCH_AB_TREE (a checkout of
 * another qrelay tree, e.g. the commit before a change: each qrelay target also runs from that tree, as
 * `<target>@ab`, right before its own turn in every round, for A/B figures in one run; with BENCH_AB_SOURCE=1
 * it runs from that tree's sources), BENCH_SOURCE (1: every qrelay target runs its tree's sources through tsx
 * instead of the bundle `npm start` runs; `bench/qrelay-entry.ts`).
 *
 * `--smoke` (what `npm test` runs, test/integration/bench/relay-smoke.test.ts): 1 s rounds, one round,
 * 4 connections, the memory targets only unless BENCH_TARGETS says otherwise; exits 1 on any non-2xx.
 *
 * @see BENCHMARKS.md (targets and verdicts)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { qrelayServerArgs, qrelayServerForm, RUN_SOURCES } from '../qrelay-entry.ts'
import type { LoadResult } from './load.ts'
import { canPin, collect, cpuSeconds, freePort, startChild, startRedis, waitForHttp, type Child } from './processes.ts'

const SERVER_CORE = 0
const LOAD_CORE = 1

const num = (name: string, fallback: number, max: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value <= 0 || value > max) throw new Error(`${name} must be in (0, ${max}]`)
  return value
}
const SMOKE = process.argv.includes('--smoke')
const SECONDS = num('BENCH_SECONDS', SMOKE ? 1 : 10, 120)
const REPS = Math.round(num('BENCH_REPS', SMOKE ? 1 : 3, 20))
const WARMUP_SECONDS = num('BENCH_WARMUP_SECONDS', SMOKE ? 1 : 3, 60)
/**
 * Requests each server process serves before the rounds. V8 compiles the hot code per process, on
 * threads this benchmark counts, for about the first 10 000 requests; a warm-up by time alone leaves
 * each of `redis-2proc`'s processes (which share the load) half as warm as `redis`'s one, so its rounds
 * would carry a compile cost that is paid once per process, not per request (BENCHMARKS.md, "two processes on Redis").
 */
const WARMUP_REQUESTS = process.env.BENCH_WARMUP_REQUESTS === '0' || SMOKE ? 0 : num('BENCH_WARMUP_REQUESTS', 15_000, 1e7)
/** Warm-up runs per target at most (the bound when a slow machine serves few requests). */
const MAX_WARMUP_RUNS = 20
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', SMOKE ? 4 : 32, 1000))
const ALL_TARGETS = ['bare', 'hono', 'memory', 'memory-info', 'memory-metrics', 'redis', 'redis-info', 'redis-2proc'] as const
type BaseTarget = (typeof ALL_TARGETS)[number]
/** A target, or a qrelay target run from `BENCH_AB_TREE` (`memory-info@ab`). */
type TargetName = BaseTarget | `${BaseTarget}@ab`
const AB_TREE = process.env.BENCH_AB_TREE
/** `BENCH_AB_SOURCE=1`: the `@ab` targets run their tree's sources (`BENCH_AB_TREE=.` measures the bundle against them). */
const AB_SOURCES = process.env.BENCH_AB_SOURCE === '1' || RUN_SOURCES
let abData: string | undefined
/** The `@ab` targets' data directory, made on first use and removed at exit. */
const abDataDir = (): string => {
  if (abData === undefined) {
    const made = mkdtempSync(join(tmpdir(), 'qrelay-bench-ab-'))
    process.once('exit', () => rmSync(made, { recursive: true, force: true }))
    abData = made
  }
  return abData
}
const BASE_TARGETS = (process.env.BENCH_TARGETS ?? (SMOKE ? 'bare,hono,memory,memory-info' : ALL_TARGETS.join(',')))
  .split(',')
  .map((t) => t.trim())
  .filter((t): t is BaseTarget => (ALL_TARGETS as readonly string[]).includes(t))
if (!BASE_TARGETS.includes('bare')) BASE_TARGETS.unshift('bare')
const TARGETS: TargetName[] = BASE_TARGETS.flatMap((t): TargetName[] =>
  AB_TREE !== undefined && t !== 'bare' && t !== 'hono' ? [`${t}@ab`, t] : [t],
)
const baseOf = (name: TargetName): BaseTarget => name.replace(/@ab$/, '') as BaseTarget

const DESCRIPTIONS: Record<BaseTarget, string> = {
  bare: 'bare node:http + Map',
  hono: 'Hono + node-server + Map (framework floor)',
  memory: 'qrelay, memory store, log silent',
  'memory-info': 'qrelay, memory store, log info > /dev/null',
  'memory-metrics': 'qrelay, memory store, log info > /dev/null, /metrics on',
  redis: 'qrelay, Redis store, log silent',
  'redis-info': 'qrelay, Redis store, log info > /dev/null',
  'redis-2proc': 'qrelay, Redis store, two processes (half the connections each), log silent',
}

/** Our environment without any QRELAY_* setting, so only the benchmark's own apply. */
const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('QRELAY_')) env[name] = value
  }
  return env
}

/** Starts one server process of a target; `redisUrl` is set when a Redis target is asked for. */
const startProcess = async (target: TargetName, redisUrl: string | undefined): Promise<{ url: string; child: Child }> => {
  const name = baseOf(target)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const node = [process.execPath, '--import', 'tsx']
  let child: Child
  if (name === 'bare' || name === 'hono') {
    child = await startChild(node[0]!, [...node.slice(1), `bench/relay/${name}-server.ts`], {
      core: SERVER_CORE,
      env: { ...baseEnv(), PORT: String(port) },
    })
  } else {
    const redis = name.startsWith('redis')
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []
    child = await startChild(
      process.execPath,
      [...profile, ...(target.endsWith('@ab') ? qrelayServerArgs(AB_TREE, AB_SOURCES) : qrelayServerArgs())],
      {
        core: SERVER_CORE,
        env: {
          ...baseEnv(),
          QRELAY_HOST: '127.0.0.1',
          QRELAY_PORT: String(port),
          QRELAY_LOG_LEVEL: name.endsWith('-info') || name.endsWith('-metrics') ? 'info' : 'silent',
          ...(name.endsWith('-metrics') ? { QRELAY_METRICS_ENABLED: 'true' } : {}),
          QRELAY_LOG_HASH_KEY: '00112233445566778899aabbccddeeff',
          // Every request comes from 127.0.0.1: only the per-client create limit would bite. The
          // per-channel limits keep their defaults (and their 60 s windows, so counters live as long
          // as in production).
          QRELAY_RATE_CREATE_PER_CLIENT: '1000000000/60s',
          // A load generator creates channels nobody joins: exactly what the abuse guard denies.
          QRELAY_ABUSE_ENABLED: 'false',
          // The other tree gets an embedded database of its own: the two trees' schema versions may differ.
          ...(target.endsWith('@ab') ? { QRELAY_DATA_DIR: abDataDir() } : {}),
          ...(redis
            ? { QRELAY_STORE: 'redis', QRELAY_REDIS_URL: redisUrl!, QRELAY_REDIS_KEY_PREFIX: `bench:${process.pid}:${target}:` }
            : {}),
        },
      },
    )
  }
  await waitForHttp(`${url}/healthz`, 30_000, child)
  return { url, child }
}

/** A target's servers: one process, or two sharing Redis (`redis-2proc`). */
interface TargetServers {
  urls: string[]
  children: Child[]
}

const startTarget = async (name: TargetName, redisUrl: string | undefined): Promise<TargetServers> => {
  const started = [await startProcess(name, redisUrl)]
  if (baseOf(name) === 'redis-2proc') {
    try {
      started.push(await startProcess(name, redisUrl))
    } catch (error) {
      await started[0]!.child.stop()
      throw error
    }
  }
  return { urls: started.map((s) => s.url), children: started.map((s) => s.child) }
}

/** One run's figures: the load generator's, plus the server's CPU use over the run. */
interface RunResult extends LoadResult {
  /** Server CPU seconds over wall seconds (1 = its core fully busy). */
  serverCpu: number
  /** 2xx responses per CPU second of the server: a figure other processes' load disturbs less. */
  perCpuSecond: number
  /** redis-server CPU seconds over wall seconds (NaN without a Redis of ours): whether Redis kept up. */
  redisCpu: number
}

/** The redis-server we started, if any: its CPU is reported beside the server's. */
let redisChild: Child | undefined

const load = async (servers: TargetServers, seconds: number): Promise<RunResult> => {
  const options = JSON.stringify({ url: servers.urls[0], urls: servers.urls, connections: CONNECTIONS, seconds })
  const serverCpu = (): number => servers.children.reduce((n, c) => n + cpuSeconds(c.pid), 0)
  const cpuBefore = serverCpu()
  const redisBefore = redisChild === undefined ? Number.NaN : cpuSeconds(redisChild.pid)
  const out = await collect(process.execPath, ['--import', 'tsx', 'bench/relay/load.ts', options], {
    core: LOAD_CORE,
    env: baseEnv(),
    timeoutMs: seconds * 1000 + 60_000,
  })
  const cpu = serverCpu() - cpuBefore
  const redisCpu = redisChild === undefined ? Number.NaN : cpuSeconds(redisChild.pid) - redisBefore
  const result = JSON.parse(out.trim().split('\n').pop()!) as LoadResult
  return {
    ...result,
    serverCpu: cpu / result.seconds,
    perCpuSecond: (result.rps * result.seconds) / cpu,
    redisCpu: redisCpu / result.seconds,
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

const report = (results: Map<TargetName, RunResult[]>): string => {
  const bare = results.get('bare')!
  const bareMedian = median(bare.map((r) => r.rps))
  const bareCpuMedian = median(bare.map((r) => r.perCpuSecond))
  const lines = [
    '| target | req/s median | req/s range | × bare (median) | × bare per round | req per server CPU-s (× bare) | server / generator CPU | p50 / p99 ms | non-2xx |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const name of TARGETS) {
    const runs = results.get(name) ?? []
    if (runs.length === 0) continue
    const rps = runs.map((r) => r.rps)
    const perRound = runs.map((r, i) => r.rps / bare[i]!.rps)
    const ratio = name === 'bare' ? '1' : fmt(median(rps) / bareMedian, 2)
    const perCpu = median(runs.map((r) => r.perCpuSecond))
    const cpuRatio = name === 'bare' ? '' : ` (${fmt(perCpu / bareCpuMedian, 2)})`
    const roundRange = name === 'bare' ? '—' : `${fmt(Math.min(...perRound), 2)}–${fmt(Math.max(...perRound), 2)}`
    lines.push(
      `| ${DESCRIPTIONS[baseOf(name)]}${name.endsWith('@ab') ? ' (A/B tree)' : ''} | ${fmt(median(rps))} | ${fmt(Math.min(...rps))}–${fmt(Math.max(...rps))} | ${ratio} | ${roundRange} | ` +
        `${fmt(perCpu)}${cpuRatio} | ${fmt(median(runs.map((r) => r.serverCpu)), 2)} / ${fmt(median(runs.map((r) => r.generatorCpu)), 2)} | ` +
        `${fmt(median(runs.map((r) => r.latencyP50Ms)), 1)} / ${fmt(median(runs.map((r) => r.latencyP99Ms)), 1)} | ` +
        `${runs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0)} |`,
    )
  }
  return lines.join('\n')
}

const main = async (): Promise<void> => {
  const pinned = await canPin()
  process.stdout.write(
    `# relay benchmark: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n` +
      `# ${CONNECTIONS} connections, warm-up ${WARMUP_SECONDS} s runs until each server process served ${WARMUP_REQUESTS} requests, ${REPS} × ${SECONDS} s per target, ` +
      `${pinned ? `servers on core ${SERVER_CORE}, load generator and Redis on core ${LOAD_CORE}` : 'NOT PINNED (no taskset or one core)'}\n` +
      `# ${qrelayServerForm()}\n`,
  )
  const children: Child[] = []
  const results = new Map<TargetName, RunResult[]>()
  try {
    let redisUrl = process.env.REDIS_URL
    if (redisUrl === undefined && BASE_TARGETS.some((t) => t.startsWith('redis'))) {
      const redis = await startRedis(LOAD_CORE)
      children.push(redis.child)
      redisChild = redis.child
      redisUrl = redis.url
    }
    const servers = new Map<TargetName, TargetServers>()
    for (const name of TARGETS) {
      const server = await startTarget(name, redisUrl)
      children.push(...server.children)
      servers.set(name, server)
      let served = 0
      for (let runs = 0; runs < MAX_WARMUP_RUNS && (runs === 0 || served < WARMUP_REQUESTS * server.children.length); runs++) {
        const warm = await load(server, WARMUP_SECONDS)
        served += warm.rps * warm.seconds
        process.stdout.write(`warm-up ${name}: ${fmt(warm.rps)} req/s, statuses ${JSON.stringify(warm.statusCodes)}\n`)
      }
    }
    for (let round = 1; round <= REPS; round++) {
      for (const name of TARGETS) {
        const server = servers.get(name)!
        const result = await load(server, SECONDS)
        results.set(name, [...(results.get(name) ?? []), result])
        process.stdout.write(
          `round ${round} ${name}: ${fmt(result.rps)} req/s, p99 ${result.latencyP99Ms} ms, ` +
            `statuses ${JSON.stringify(result.statusCodes)}, resets ${result.resets}, ` +
            `server CPU ${fmt(result.serverCpu, 2)}, generator CPU ${fmt(result.generatorCpu, 2)}` +
            `${Number.isNaN(result.redisCpu) ? '' : `, Redis CPU ${fmt(result.redisCpu, 2)}`}\n`,
        )
      }
    }
  } finally {
    for (const child of children.reverse()) await child.stop()
  }
  process.stdout.write(
    `\n${report(results)}\n\nload average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  )
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify(Object.fromEntries(results), null, 2))
  const failed = [...results.values()].flat().reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0)
  if (SMOKE && failed > 0) throw new Error(`${failed} requests failed`)
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:relay: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
