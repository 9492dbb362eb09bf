/**
 * WebSocket relay benchmark (`node --import tsx bench/ws/run.ts`): in one run, a bare `ws` pair relay
 * (`bare-relay.ts`) against qrelay's WebSocket transport of native channels on the memory store, and
 * optionally qrelay on Redis with the creator and the joiner on two processes. For each target:
 * one-way latency at a fixed offered rate (1 000 msg/s over 100 pairs by default), maximum
 * throughput (closed-loop ping-pong), and memory per open pair (9 900 pairs by default, read from the
 * server itself after full GCs). Servers on core 0, the load client (and Redis) on core 1. Targets
 * take turns within each round (every other round in the reverse order), so machine noise spreads
 * over all of them.
 *
 * Knobs (environment): BENCH_SECONDS (10), BENCH_REPS (3), BENCH_WARMUP_SECONDS (3), BENCH_PAIRS
 * (100), BENCH_RATE (1000), BENCH_PAYLOAD (100), BENCH_TARGETS (bare,memory,redis; bare always),
 * BENCH_MEM_PAIRS (9900; 0 skips), BENCH_MEM_REPS (3), BENCH_JSON (raw results), REDIS_URL,
 * BENCH_CPU_PROF (a directory: the servers run with `--cpu-prof` there, one profile per process),
 * BENCH_BASE_TREE (another checkout of qrelay, e.g. the commit before a change: adds the target `base`,
 * its memory store, taking turns with the others for an A/B in the same run); `--smoke`
 * (or BENCH_SMOKE=1) runs every phase once, small and short, only to check that the bench works.
 *
 * @see BENCHMARKS.md (targets and verdicts)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { baseEnv, heapOf, PROBE_ARGS, type HeapReport } from '../memory/probe.ts'
import { canPin, collect, freePort, startChild, startRedis, waitForHttp, type Child } from '../relay/processes.ts'
import type { LoadOptions, LoadResult } from './load.ts'
import { report, type Measured, type MemoryResult } from './report.ts'
import { qrelayServerScript } from '../qrelay-entry.ts'

const SERVER_CORE = 0
const LOAD_CORE = 1

const num = (name: string, fallback: number, min: number, max: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${name} must be in [${min}, ${max}]`)
  return value
}
/**
 * `--smoke` (or BENCH_SMOKE=1): every phase once, small and short, to check that the bench runs; its
 * figures mean nothing. The memory phase then reads the servers of the latency rounds (already warm)
 * instead of starting fresh ones: the same reading and holding code, without four more server starts.
 */
const SMOKE = process.argv.includes('--smoke') || process.env.BENCH_SMOKE === '1'
const SECONDS = num('BENCH_SECONDS', SMOKE ? 0.5 : 10, 0.5, 120)
const REPS = Math.round(num('BENCH_REPS', SMOKE ? 1 : 3, 1, 20))
const WARMUP_SECONDS = num('BENCH_WARMUP_SECONDS', SMOKE ? 0 : 3, 0, 60)
const PAIRS = Math.round(num('BENCH_PAIRS', SMOKE ? 10 : 100, 1, 5000))
const RATE = num('BENCH_RATE', SMOKE ? 100 : 1000, 1, 100_000)
const PAYLOAD = Math.round(num('BENCH_PAYLOAD', 100, 0, 4000))
const MEM_PAIRS = Math.round(num('BENCH_MEM_PAIRS', SMOKE ? 50 : 9900, 0, 20_000))
const MEM_REPS = Math.round(num('BENCH_MEM_REPS', SMOKE ? 1 : 3, 1, 10))
/** How long the memory phase holds its pairs idle before reading. */
const HOLD_SECONDS = SMOKE ? 1 : 15
const ALL_TARGETS = ['bare', 'memory', 'base', 'redis'] as const
/** Another checkout of qrelay whose memory store runs as the target `base` (an A/B in one run). */
const BASE_TREE = process.env.BENCH_BASE_TREE
type TargetName = (typeof ALL_TARGETS)[number]
const TARGETS = (process.env.BENCH_TARGETS ?? 'bare,memory,redis')
  .split(',')
  .map((t) => t.trim())
  .filter((t): t is TargetName => (ALL_TARGETS as readonly string[]).includes(t))
if (!TARGETS.includes('bare')) TARGETS.unshift('bare')
if (BASE_TREE !== undefined && !TARGETS.includes('base')) TARGETS.splice(TARGETS.indexOf('memory') + 1 || TARGETS.length, 0, 'base')
if (TARGETS.includes('base') && BASE_TREE === undefined) throw new Error('the target base needs BENCH_BASE_TREE')

const DESCRIPTIONS: Record<TargetName, string> = {
  bare: 'bare `ws` pair relay',
  memory: 'qrelay, memory store',
  base: `qrelay, memory store, base tree (${BASE_TREE ?? '-'})`,
  redis: 'qrelay, Redis, creator and joiner on 2 processes',
}

/** A started target: one server, or two (Redis: creator's and joiner's). */
interface Target {
  url: string
  joinerUrl?: string
  children: Child[]
}

const PROFILE = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []
const NODE_ARGS = [...PROFILE, ...PROBE_ARGS]

const startServer = async (script: string, env: Record<string, string>): Promise<{ url: string; child: Child }> => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = await startChild(process.execPath, [...NODE_ARGS, script], {
    core: SERVER_CORE,
    env: { ...baseEnv(), ...env, PORT: String(port), QRELAY_PORT: String(port) },
  })
  await waitForHttp(`${url}/healthz`, 90_000, child)
  return { url, child }
}

const qrelayEnv = (dataDir: string, redisUrl: string | undefined): Record<string, string> => ({
  QRELAY_HOST: '127.0.0.1',
  QRELAY_LOG_LEVEL: 'silent',
  QRELAY_DATA_DIR: dataDir,
  QRELAY_LOG_HASH_KEY: '00112233445566778899aabbccddeeff',
  QRELAY_UIA_KEY: '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
  // Every socket comes from 127.0.0.1 and every pair writes 10 times a second: the limits would bite.
  // They stay on (their counters are part of the cost), only high.
  QRELAY_RATE_CREATE_PER_CLIENT: '1000000000/60s',
  QRELAY_RATE_WRITES_PER_CHANNEL: '1000000000/60s',
  QRELAY_RATE_READS_PER_CHANNEL: '1000000000/60s',
  QRELAY_NATIVE_TTL_SECONDS: '600',
  QRELAY_WS_IDLE_TIMEOUT_MS: '600000',
  // Every socket comes from one address: the per-address connection cap (128 by default) would refuse most.
  QRELAY_MAX_CONNECTIONS_PER_ADDRESS: '1000000',
  ...(redisUrl === undefined
    ? {}
    : { QRELAY_STORE: 'redis', QRELAY_REDIS_URL: redisUrl, QRELAY_REDIS_KEY_PREFIX: `bench:ws:${process.pid}:${Date.now()}:` }),
})

const startTarget = async (name: TargetName, dataDir: string, redisUrl: string | undefined): Promise<Target> => {
  if (name === 'bare') {
    const { url, child } = await startServer('bench/ws/bare-relay.ts', {})
    return { url, children: [child] }
  }
  if (name === 'memory' || name === 'base') {
    const script = name === 'base' ? qrelayServerScript(BASE_TREE as string) : qrelayServerScript()
    const { url, child } = await startServer(script, qrelayEnv(join(dataDir, name), undefined))
    return { url, children: [child] }
  }
  const env = qrelayEnv(join(dataDir, 'redis'), redisUrl)
  const first = await startServer(qrelayServerScript(), env)
  const second = await startServer(qrelayServerScript(), env).catch(async (error: unknown) => {
    await first.child.stop()
    throw error
  })
  return { url: first.url, joinerUrl: second.url, children: [first.child, second.child] }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
const cpuSeconds = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return NaN
  }
}
const serversCpu = (target: Target): number => target.children.reduce((sum, c) => sum + cpuSeconds(c.pid), 0)

const loadOptions = (target: TargetName, t: Target, mode: LoadOptions['mode'], seconds: number, pairs: number): LoadOptions => ({
  target: target === 'bare' ? 'bare' : 'qrelay',
  url: t.url,
  ...(t.joinerUrl === undefined ? {} : { joinerUrl: t.joinerUrl }),
  pairs,
  mode,
  rate: RATE,
  seconds,
  payload: PAYLOAD,
})

const runLoad = async (name: TargetName, target: Target, mode: 'rate' | 'max', seconds: number): Promise<Measured> => {
  const before = serversCpu(target)
  const args = ['--import', 'tsx', 'bench/ws/load.ts', JSON.stringify(loadOptions(name, target, mode, seconds, PAIRS))]
  const out = await collect(process.execPath, args, { core: LOAD_CORE, timeoutMs: (seconds + 90) * 1000 })
  const result = JSON.parse(out.trim().split('\n').pop()!) as LoadResult
  return { ...result, serverCpuSeconds: serversCpu(target) - before }
}

/**
 * Memory before, N pairs held open, memory again; every pair closed. On fresh server(s), stopped at the
 * end; or (`warm`, the smoke) on the already warm servers of the rounds, left running for their owner.
 */
const measureMemory = async (name: TargetName, dataDir: string, redisUrl: string | undefined, warm?: Target): Promise<MemoryResult> => {
  const target = warm ?? (await startTarget(name, dataDir, redisUrl))
  try {
    // Memory is read on the creators' process only (Redis: the joiners' process holds the other half).
    const server = target.children[0] as Child & { process: import('node:child_process').ChildProcess }
    // One small ping-pong first, so that code paths are compiled and pools exist before the "before" reading.
    if (warm === undefined) await runLoad(name, target, 'rate', 1)
    const before = await heapOf(server)
    const options = loadOptions(name, target, 'hold', HOLD_SECONDS, MEM_PAIRS)
    const client = await startChild(process.execPath, ['--import', 'tsx', 'bench/ws/load.ts', JSON.stringify(options)], {
      core: LOAD_CORE,
      stdout: 'pipe',
    })
    let out = ''
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`pairs not open within 300 s: ${client.stderrTail()}`)), 300_000)
      client.process.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8')
        if (out.includes('ready\n')) {
          clearTimeout(timer)
          resolve()
        }
      })
      client.process.once('exit', () => {
        clearTimeout(timer)
        reject(new Error(`load client exited early: ${client.stderrTail()}`))
      })
    })
    let after: HeapReport
    try {
      await ready
      after = await heapOf(server)
    } finally {
      const exited = new Promise<void>((resolve) => client.process.once('exit', () => resolve()))
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 60_000).unref())])
      await client.stop()
    }
    const result = JSON.parse(out.trim().split('\n').pop()!) as LoadResult
    const pairs = result.pairs
    // Redis: each process holds one socket per pair; the bare relay and qrelay memory hold two.
    return {
      pairs,
      rssPerPair: (after.rss - before.rss) / pairs,
      heapPerPair: (after.heapUsed - before.heapUsed) / pairs,
      externalPerPair: (after.external - before.external) / pairs,
      setupMs: result.setupMs,
    }
  } finally {
    if (warm === undefined) for (const child of target.children) await child.stop()
  }
}

const main = async (): Promise<void> => {
  const pinned = await canPin()
  process.stderr.write(
    `${pinned ? 'servers pinned to core 0, load client to core 1' : 'NOT pinned (no taskset or < 2 cores)'}; ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
  )
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-bench-ws-'))
  const owned: Child[] = []
  const rate = new Map<TargetName, Measured[]>()
  const max = new Map<TargetName, Measured[]>()
  const mem = new Map<TargetName, MemoryResult[]>()
  try {
    let redisUrl = process.env.REDIS_URL
    if (TARGETS.includes('redis') && redisUrl === undefined) {
      const redis = await startRedis(LOAD_CORE)
      owned.push(redis.child)
      redisUrl = redis.url
    }
    const targets = new Map<TargetName, Target>()
    for (const name of TARGETS) {
      const target = await startTarget(name, dataDir, redisUrl)
      targets.set(name, target)
      owned.push(...target.children)
      if (WARMUP_SECONDS > 0) {
        await runLoad(name, target, 'rate', WARMUP_SECONDS)
        await runLoad(name, target, 'max', WARMUP_SECONDS)
      }
    }
    for (let rep = 0; rep < REPS; rep++) {
      // Every other round in the reverse order, so that no target always follows the same one.
      for (const name of rep % 2 === 0 ? TARGETS : [...TARGETS].reverse()) {
        const target = targets.get(name)!
        const r = await runLoad(name, target, 'rate', SECONDS)
        const m = await runLoad(name, target, 'max', SECONDS)
        rate.set(name, [...(rate.get(name) ?? []), r])
        max.set(name, [...(max.get(name) ?? []), m])
        process.stderr.write(
          `round ${rep + 1} ${name}: p50 ${r.p50Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} ms at ${r.msgPerSecond.toFixed(0)} msg/s ` +
            `(late ${r.late}, errors ${r.errors}); max ${m.msgPerSecond.toFixed(0)} msg/s (errors ${m.errors}); ` +
            `load ${loadavg()[0]!.toFixed(2)}\n`,
        )
      }
    }
    if (!SMOKE) {
      for (const name of TARGETS) {
        const target = targets.get(name)!
        for (const child of target.children) await child.stop()
      }
    }
    if (MEM_PAIRS > 0) {
      for (let rep = 0; rep < MEM_REPS; rep++) {
        for (const name of TARGETS) {
          const result = await measureMemory(name, dataDir, redisUrl, SMOKE ? targets.get(name) : undefined)
          mem.set(name, [...(mem.get(name) ?? []), result])
          process.stderr.write(
            `memory ${rep + 1} ${name}: ${result.pairs} pairs, RSS ${result.rssPerPair.toFixed(0)} B/pair, ` +
              `heap ${result.heapPerPair.toFixed(0)} B/pair (setup ${(result.setupMs / 1000).toFixed(1)} s)\n`,
          )
        }
      }
    }
  } finally {
    for (const child of owned.reverse()) await child.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
  if (process.env.BENCH_JSON) {
    const raw = { rate: Object.fromEntries(rate), max: Object.fromEntries(max), memory: Object.fromEntries(mem) }
    writeFileSync(process.env.BENCH_JSON, JSON.stringify(raw, null, 2))
  }
  const settings = { RATE, PAIRS, REPS, SECONDS, MEM_PAIRS, MEM_REPS, TARGETS, DESCRIPTIONS }
  process.stdout.write(`${report(settings, rate, max, mem)}\n`)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  },
)
