/**
 * What scaling out costs per request (`node --import tsx bench/relay/scaling.ts`): the relay mix of `load.ts` against
 * qrelay on Redis, one process and two processes sharing that Redis (all pinned to the server core, as
 * `run.ts` does), with per-request counters from /proc and Redis besides the CPU: read and write system
 * calls, context switches, Redis commands and how many commands the server sent per write (the
 * auto-pipelining batch). With `BENCH_TREES=dirA,dirB` (checkouts of two commits, each with its
 * `node_modules`), every configuration runs for each tree in turn (A/B alternation in one run).
 *
 * Knobs (environment): BENCH_SECONDS (5), BENCH_REPS (3), BENCH_WARMUP_SECONDS (2), BENCH_WARMUP_REQUESTS
 * (15000 per server process; 0 in the smoke), BENCH_SCHED (`batch`: the servers under SCHED_BATCH), BENCH_CONNECTIONS (32),
 * BENCH_TREES (default: this checkout), BENCH_PROCS (1,2; an entry `N@C` runs N processes with C connections in all instead
 * of BENCH_CONNECTIONS, e.g. `1,2,1@16`: one process at the connections each of two gets), BENCH_CPU_PROF (directory for `--cpu-prof`),
 * BENCH_PERF_STAT (a `perf stat -e` event list, e.g. `syscalls:sys_enter_epoll_pwait,cpu-clock`: the
 * servers' counts per 2xx response are printed per round; Linux, needs perf and the right to trace),
 * BENCH_PERF_RECORD (a directory: `perf record -g` of the servers during each round, one file per
 * configuration and round; the servers then run with `--perf-basic-prof`, which names JavaScript frames;
 * a table at the end splits the CPU per request into the parts of `perf-parts.ts`),
 * BENCH_PERF (the perf program, default `perf`), BENCH_NODE_FLAGS (Node or V8 flags of the servers, space-separated).
 * `--smoke` (what `npm test` runs, test/integration/bench/relay-scaling-smoke.redis.test.ts): 1 s, one
 * round, 4 connections; exits 1 on any non-2xx.
 *
 * "Redis commands" counts the commands Lua scripts run too (Redis' `total_commands_processed`), and
 * "commands per write" divides them by the servers' write calls beyond one per response: both are
 * rough, to compare configurations, not absolute figures.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { canPin, collect, cpuSeconds, freePort, ROOT, startChild, startRedis, waitForHttp, type Child } from './processes.ts'
import type { LoadResult } from './load.ts'
import { perfParts } from './perf-parts.ts'
import { qrelayServerArgs } from '../qrelay-entry.ts'

const SERVER_CORE = 0
const LOAD_CORE = 1
const SMOKE = process.argv.includes('--smoke')
const num = (name: string, fallback: number, max: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value <= 0 || value > max) throw new Error(`${name} must be in (0, ${max}]`)
  return value
}
const SECONDS = num('BENCH_SECONDS', SMOKE ? 1 : 5, 120)
const REPS = Math.round(num('BENCH_REPS', SMOKE ? 1 : 3, 20))
const WARMUP_SECONDS = num('BENCH_WARMUP_SECONDS', SMOKE ? 1 : 2, 60)
/**
 * Requests each server process serves before the rounds (warm-up runs of WARMUP_SECONDS repeat until
 * then, at most {@link MAX_WARMUP_RUNS}): V8 compiles the hot code per process, on its own threads, for
 * the first ≈ 10 000 requests, so a warm-up by time alone leaves two processes (each served half as many)
 * colder than one, the more so the slower the machine.
 */
const WARMUP_REQUESTS = process.env.BENCH_WARMUP_REQUESTS === '0' ? 0 : num('BENCH_WARMUP_REQUESTS', SMOKE ? 1 : 15_000, 1e7)
const MAX_WARMUP_RUNS = 30
/**
 * BENCH_SCHED=batch: the servers run under SCHED_BATCH (`chrt -b`), so a process woken by its socket
 * does not preempt the other one on the shared core (what two processes on one core cost in switches).
 */
const SCHED_BATCH = process.env.BENCH_SCHED === 'batch'
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', SMOKE ? 4 : 32, 1000))
const TREES = (process.env.BENCH_TREES ?? ROOT).split(',').map((t) => resolve(t.trim()))
/** BENCH_SERVER=bare: the bare `node:http` relay instead (what two processes on one core cost anyway). */
const BARE = process.env.BENCH_SERVER === 'bare'
/** The configurations: processes, and the connections over all of them. */
// The smoke runs the `N@C` form too: one process at the connections each of two gets.
const PROCS = (process.env.BENCH_PROCS ?? (SMOKE ? `1,2,1@${Math.max(1, Math.floor(CONNECTIONS / 2))}` : '1,2')).split(',').map((entry) => {
  const [procs, connections] = entry.split('@').map((n) => Math.round(Number(n)))
  return {
    procs: Math.min(4, Math.max(1, procs ?? 1)),
    connections: connections === undefined ? CONNECTIONS : Math.min(1000, Math.max(1, connections)),
  }
})

/** Counters of one process from /proc (Linux): system calls and context switches; zeros elsewhere. */
interface ProcCounters {
  /** Seconds on the CPU of the main thread (scheduler's nanosecond count). */
  cpu: number
  /** Seconds on the CPU of every thread (JIT compilers and GC helpers too; clock ticks). */
  allCpu: number
  syscr: number
  syscw: number
  voluntary: number
  involuntary: number
}
const procCounters = (pid: number): ProcCounters => {
  const field = (text: string, name: string): number => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? 0)
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8')
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return {
      cpu: Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e9,
      allCpu: cpuSeconds(pid),
      syscr: field(io, 'syscr'),
      syscw: field(io, 'syscw'),
      voluntary: field(status, 'voluntary_ctxt_switches'),
      involuntary: field(status, 'nonvoluntary_ctxt_switches'),
    }
  } catch {
    return { cpu: cpuSeconds(pid), allCpu: cpuSeconds(pid), syscr: 0, syscw: 0, voluntary: 0, involuntary: 0 }
  }
}
const sumCounters = (pids: readonly number[]): ProcCounters =>
  pids.map(procCounters).reduce(
    (a, b) => ({
      cpu: a.cpu + b.cpu,
      allCpu: a.allCpu + b.allCpu,
      syscr: a.syscr + b.syscr,
      syscw: a.syscw + b.syscw,
      voluntary: a.voluntary + b.voluntary,
      involuntary: a.involuntary + b.involuntary,
    }),
    { cpu: 0, allCpu: 0, syscr: 0, syscw: 0, voluntary: 0, involuntary: 0 },
  )

/** Commands Redis processed so far (all clients). */
const redisCommands = async (url: string): Promise<number> => {
  const { Redis } = await import('ioredis')
  const client = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    const info = await client.info('stats')
    return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? Number.NaN)
  } finally {
    client.disconnect()
  }
}

const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith('QRELAY_')) env[name] = value
  return env
}

interface Config {
  tree: string
  procs: number
  connections: number
  label: string
  urls: string[]
  children: Child[]
}

const startConfig = async (tree: string, procs: number, connections: number, redisUrl: string, index: number): Promise<Config> => {
  const urls: string[] = []
  const children: Child[] = []
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []
  if (process.env.BENCH_PERF_RECORD !== undefined) profile.push('--perf-basic-prof')
  // BENCH_NODE_FLAGS: Node or V8 flags for the servers only (e.g. `--single-threaded-gc`, which NODE_OPTIONS refuses).
  profile.push(...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== ''))
  for (let i = 0; i < procs; i++) {
    const port = await freePort()
    const server = BARE ? ['--import', 'tsx', `${tree}/bench/relay/bare-server.ts`] : qrelayServerArgs(tree)
    const child = await startChild(process.execPath, [...profile, ...server], {
      core: SERVER_CORE,
      env: {
        ...baseEnv(),
        PORT: String(port),
        QRELAY_HOST: '127.0.0.1',
        QRELAY_PORT: String(port),
        QRELAY_LOG_LEVEL: 'silent',
        QRELAY_LOG_HASH_KEY: '00112233445566778899aabbccddeeff',
        QRELAY_RATE_CREATE_PER_CLIENT: '1000000000/60s',
        QRELAY_ABUSE_ENABLED: 'false',
        QRELAY_STORE: 'redis',
        QRELAY_REDIS_URL: redisUrl,
        // The processes of one configuration share their keys, as a deployment does.
        QRELAY_REDIS_KEY_PREFIX: `scaling:${process.pid}:${index}:`,
      },
    })
    children.push(child)
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000, child)
    if (SCHED_BATCH) await collect('chrt', ['-a', '-b', '-p', '0', String(child.pid)], { core: SERVER_CORE, timeoutMs: 10_000 })
    urls.push(`http://127.0.0.1:${port}`)
  }
  const name = TREES.length > 1 ? `${String.fromCharCode(65 + TREES.indexOf(tree))} ` : ''
  const label = `${name}${procs} proc${connections === CONNECTIONS ? '' : ` ${connections} conn`}`
  return { tree, procs, connections, label, urls, children }
}

interface Round {
  rps: number
  /** Answers that were not 2xx, errors and timeouts. */
  failed: number
  /** Per 2xx response: the main threads' CPU, and every thread's. */
  cpuUs: number
  allCpuUs: number
  syscalls: number
  switches: number
  /** Of those, the preemptions (the other process or thread took the core). */
  preemptions: number
  redisCommands: number
  /** Redis commands per write system call of the servers (the batch). */
  batch: number
  /** BENCH_PERF_STAT's counts per 2xx response, by event. */
  perf: Record<string, number>
  /** BENCH_PERF_RECORD: CPU µs per 2xx response by part of the work (`perf-parts.ts`). */
  parts?: Record<string, number>
}

/** The `perf stat -e` events of BENCH_PERF_STAT (none: no perf). */
const PERF_EVENTS = process.env.BENCH_PERF_STAT ?? ''
/** The perf program (BENCH_PERF, default `perf` on the PATH). */
const PERF = process.env.BENCH_PERF ?? 'perf'

/**
 * Counts PERF_EVENTS in `pids` (every thread) until the returned function is called, which resolves
 * to the counts by event name (an event perf could not count is left out).
 */
const perfStat = (pids: readonly number[]): (() => Promise<Record<string, number>>) => {
  if (PERF_EVENTS === '') return async () => ({})
  const perf = spawn(PERF, ['stat', '-x', ',', '-e', PERF_EVENTS, '-p', pids.join(',')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let text = ''
  perf.stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8')
  })
  const exited = new Promise<void>((resolve) => {
    perf.once('error', () => resolve())
    perf.once('close', () => resolve())
  })
  return async () => {
    perf.kill('SIGINT')
    const timer = setTimeout(() => perf.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
    const counts: Record<string, number> = {}
    for (const line of text.split('\n')) {
      const [value, , event] = line.split(',')
      // Events that did not occur are left out (a glob such as `syscalls:sys_enter_*` names hundreds).
      if (event !== undefined && value !== undefined && Number(value) > 0) counts[event] = Number(value)
    }
    return counts
  }
}

/** Records the servers' stacks (`perf record`) into `file` until the returned function is called. */
const perfRecord = (pids: readonly number[], file: string): (() => Promise<void>) => {
  const perf = spawn(PERF, ['record', '-q', '-g', '-e', 'cpu-clock', '-o', file, '-p', pids.join(',')], { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => {
    perf.once('error', () => resolve())
    perf.once('close', () => resolve())
  })
  return async () => {
    perf.kill('SIGINT')
    const timer = setTimeout(() => perf.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
}

const run = async (config: Config, redisUrl: string, seconds: number, name?: string): Promise<Round> => {
  const pids = config.children.map((c) => c.pid)
  const before = sumCounters(pids)
  const stopPerf = perfStat(pids)
  const recordDir = process.env.BENCH_PERF_RECORD
  const recordFile = recordDir === undefined || name === undefined ? undefined : `${recordDir}/${name.replace(/\W+/g, '-')}.data`
  const stopRecord = recordFile === undefined ? async () => {} : perfRecord(pids, recordFile)
  const commandsBefore = await redisCommands(redisUrl)
  const options = JSON.stringify({ url: config.urls[0], urls: config.urls, connections: config.connections, seconds })
  const out = await collect(process.execPath, ['--import', 'tsx', 'bench/relay/load.ts', options], {
    core: LOAD_CORE,
    env: baseEnv(),
    timeoutMs: seconds * 1000 + 60_000,
  })
  const after = sumCounters(pids)
  const perf = await stopPerf()
  await stopRecord()
  const commands = (await redisCommands(redisUrl)) - commandsBefore - 1
  const result = JSON.parse(out.trim().split('\n').pop()!) as LoadResult
  const ok = result.rps * result.seconds
  // Writes: responses to clients (about one per request) plus writes to Redis.
  const redisWrites = Math.max(1, after.syscw - before.syscw - ok)
  const perfPerRequest = Object.fromEntries(Object.entries(perf).map(([event, count]) => [event, count / ok]))
  return {
    perf: perfPerRequest,
    ...(recordFile === undefined ? {} : { parts: await perfParts(recordFile, pids, ok) }),
    rps: result.rps,
    failed: result.non2xx + result.errors + result.timeouts,
    cpuUs: ((after.cpu - before.cpu) * 1e6) / ok,
    allCpuUs: ((after.allCpu - before.allCpu) * 1e6) / ok,
    syscalls: (after.syscr - before.syscr + after.syscw - before.syscw) / ok,
    switches: (after.voluntary - before.voluntary + after.involuntary - before.involuntary) / ok,
    preemptions: (after.involuntary - before.involuntary) / ok,
    redisCommands: commands / ok,
    batch: commands / redisWrites,
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

const main = async (): Promise<void> => {
  const pinned = await canPin()
  process.stdout.write(
    `# scaling: ${CONNECTIONS} connections, ${REPS} × ${SECONDS} s, ${pinned ? 'pinned' : 'NOT PINNED'}; trees ${TREES.join(', ')}\n`,
  )
  const children: Child[] = []
  const results = new Map<Config, Round[]>()
  try {
    const redis = await startRedis(LOAD_CORE)
    children.push(redis.child)
    const configs: Config[] = []
    for (const tree of TREES) {
      for (const { procs, connections } of PROCS) {
        const config = await startConfig(tree, procs, connections, redis.url, configs.length)
        children.push(...config.children)
        configs.push(config)
        let served = 0
        for (let runs = 0; runs < MAX_WARMUP_RUNS && (runs === 0 || served < WARMUP_REQUESTS * procs); runs++) {
          const warm = await run(config, redis.url, WARMUP_SECONDS)
          served += warm.rps * WARMUP_SECONDS
        }
        process.stdout.write(`warm-up ${config.label}: ${served.toFixed(0)} requests\n`)
      }
    }
    for (let round = 1; round <= REPS; round++) {
      for (const config of configs) {
        const r = await run(config, redis.url, SECONDS, `${config.label}-${round}`)
        results.set(config, [...(results.get(config) ?? []), r])
        process.stdout.write(
          `round ${round} ${config.label}: ${r.rps.toFixed(0)} req/s, ${r.cpuUs.toFixed(1)} µs CPU/req ` +
            `(${r.allCpuUs.toFixed(1)} all threads), ` +
            `${r.syscalls.toFixed(2)} syscalls/req, ${r.switches.toFixed(3)} ctx switches/req (${r.preemptions.toFixed(3)} preempted), ` +
            `${r.redisCommands.toFixed(2)} Redis commands/req, ${r.batch.toFixed(2)} commands/write` +
            Object.entries(r.perf)
              .map(([event, perRequest]) => `, ${perRequest.toFixed(3)} ${event}/req`)
              .join('') +
            '\n',
        )
      }
    }
  } finally {
    for (const child of children.reverse()) await child.stop()
  }
  process.stdout.write(
    '\n| configuration | req/s | CPU µs/req | req per CPU-s | all threads: CPU µs/req (req per CPU-s) | syscalls/req | ctx switches/req | Redis cmds/req | cmds per write |\n',
  )
  process.stdout.write('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n')
  for (const [config, rounds] of results) {
    const m = (pick: (r: Round) => number, digits: number): string => median(rounds.map(pick)).toFixed(digits)
    process.stdout.write(
      `| ${config.label} | ${m((r) => r.rps, 0)} | ${m((r) => r.cpuUs, 1)} | ${m((r) => 1e6 / r.cpuUs, 0)} | ` +
        `${m((r) => r.allCpuUs, 1)} (${m((r) => 1e6 / r.allCpuUs, 0)}) | ${m((r) => r.syscalls, 2)} | ` +
        `${m((r) => r.switches, 3)} | ${m((r) => r.redisCommands, 2)} | ${m((r) => r.batch, 2)} |\n`,
    )
  }
  partsTable(results)
  const failed = failures(results)
  process.stdout.write(`\nnon-2xx answers, errors and timeouts: ${failed}\n`)
  if (SMOKE && failed > 0) throw new Error(`${failed} requests failed`)
}

/** BENCH_PERF_RECORD: the median CPU µs per request of each part, configurations side by side. */
const partsTable = (results: Map<Config, Round[]>): void => {
  const configs = [...results].filter(([, rounds]) => rounds.some((r) => r.parts !== undefined))
  if (configs.length === 0) return
  const names = Object.keys(configs[0]![1].find((r) => r.parts !== undefined)!.parts!)
  process.stdout.write(`\n| CPU µs per request (perf record) | ${configs.map(([c]) => c.label).join(' | ')} |\n`)
  process.stdout.write(`| --- |${' ---: |'.repeat(configs.length)}\n`)
  for (const name of names) {
    const cells = configs.map(([, rounds]) => median(rounds.flatMap((r) => (r.parts === undefined ? [] : [r.parts[name] ?? 0]))).toFixed(2))
    process.stdout.write(`| ${name} | ${cells.join(' | ')} |\n`)
  }
}

const failures = (results: Map<Config, Round[]>): number => [...results.values()].flat().reduce((n, r) => n + r.failed, 0)

main().catch((error: unknown) => {
  process.stderr.write(`scaling: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
