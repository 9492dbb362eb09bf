/**
 * Redis topology benchmark (`node --import tsx bench/redis-topology/run.ts`): two qrelay processes on
 * one Redis against two qrelay processes on a 3-primary Redis Cluster (`redis+cluster://`), in the same
 * run, rounds alternating, each measured two ways:
 * - the relay mix (bench/relay/load.ts: the MSC4388 cycle create → PUT → GET → GET → DELETE), one load
 *   generator per process, half the connections each;
 * - full QR logins over HTTP (channel, handshake, grant, approval, tokens: as bench/qr-login), the new
 *   device on one process and the existing device on the other, `BENCH_CONCURRENCY` at once.
 * The figure that compares the two is per server CPU second (both qrelay processes' CPU, from /proc),
 * since the machine (2 cores: qrelay on core 0, Redis and the load on core 1) cannot give the cluster
 * more hardware; the raw rates are printed too. The ratio is cluster ÷ one Redis.
 *
 * Knobs (environment): BENCH_SECONDS (10), BENCH_REPS (3), BENCH_CONNECTIONS (32), BENCH_LOGINS (20 per
 * round), BENCH_CONCURRENCY (4).
 *
 * `--smoke` (what `npm test` runs, test/integration/bench/redis-topology-smoke.redis.test.ts): both
 * topologies started, a 1 s warm-up, one round of 1 s relay mix (4 connections) and 2 QR logins;
 * exits 1 on any non-2xx of the relay mix or a failed login.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LoadResult } from '../relay/load.ts'
import { canPin, collect, freePort, startChild, startRedis, waitForHttp, type Child } from '../relay/processes.ts'
import { startRedisClusterForBench } from './cluster.ts'
import { PUBLIC_BASE_URL, qrLoginsPerSecond } from './qr-logins.ts'
import { BENCH_ADMIN_TOKEN, generousRates } from '../qr-login/server-env.ts'
import { exportJWK, generateKeyPair } from 'jose'
import { qrelayServerArgs } from '../qrelay-entry.ts'

const num = (name: string, fallback: number, max: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value <= 0 || value > max) throw new Error(`${name} must be a whole number in (0, ${max}]`)
  return value
}
const SMOKE = process.argv.includes('--smoke')
const SECONDS = num('BENCH_SECONDS', SMOKE ? 1 : 10, 120)
const REPS = num('BENCH_REPS', SMOKE ? 1 : 3, 20)
const CONNECTIONS = num('BENCH_CONNECTIONS', SMOKE ? 4 : 32, 1000)
const LOGINS = num('BENCH_LOGINS', SMOKE ? 2 : 20, 10_000)
const CONCURRENCY = num('BENCH_CONCURRENCY', SMOKE ? 2 : 4, 64)
const WARMUP_SECONDS = SMOKE ? 1 : 3
const WARMUP_LOGINS = SMOKE ? 2 : 4
const SERVER_CORE = 0
const OTHER_CORE = 1
const ADMIN = BENCH_ADMIN_TOKEN

const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith('QRELAY_')) env[name] = value
  return env
}

/** Every qrelay process this run started, by PID, so that one that died can be named with its last words. */
const servers = new Map<number, Child>()

const cpuSeconds = (pid: number): number => {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    throw new Error(`qrelay process ${pid} is gone; its last stderr: ${servers.get(pid)?.stderrTail() || '(nothing)'}`)
  }
  const fields = stat.replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Two qrelay processes on `redisUrl`. */
const startPair = async (label: string, redisUrl: string, dataDir: string): Promise<Array<{ url: string; child: Child }>> => {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
  const env = {
    QRELAY_PUBLIC_BASE_URL: PUBLIC_BASE_URL,
    QRELAY_TICKET_SIGNING_JWKS: JSON.stringify({ keys: [await exportJWK(privateKey)] }),
    ...baseEnv(),
    QRELAY_HOST: '127.0.0.1',
    QRELAY_LOG_LEVEL: 'silent',
    QRELAY_STORE: 'redis',
    QRELAY_REDIS_URL: redisUrl,
    QRELAY_REDIS_KEY_PREFIX: `bench:${process.pid}:${label}:`,
    QRELAY_LOG_HASH_KEY: '00112233445566778899aabbccddeeff',
    QRELAY_UIA_KEY: '55'.repeat(32),
    QRELAY_SECRETS_KEYS: `k1:${'66'.repeat(32)}`,
    QRELAY_DATA_DIR: dataDir,
    QRELAY_ADMIN_TOKEN: ADMIN,
    QRELAY_ABUSE_ENABLED: 'false',
    QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
    QRELAY_POLL_INTERVAL_SECONDS: '1',
    // Idle connections are closed by the load's own client (fetch drops them after ~4 s) rather than by the
    // server: on a loaded machine a server-side close at 5 s can meet a request the client just sent on it.
    QRELAY_KEEP_ALIVE_TIMEOUT_MS: '65000',
    ...generousRates(),
  }
  const pair = []
  for (let i = 0; i < 2; i++) {
    const port = await freePort()
    const child = await startChild(process.execPath, qrelayServerArgs(), {
      core: SERVER_CORE,
      env: { ...env, QRELAY_PORT: String(port) },
    })
    servers.set(child.pid, child)
    await waitForHttp(`http://127.0.0.1:${port}/readyz`, 30_000, child)
    pair.push({ url: `http://127.0.0.1:${port}`, child })
  }
  return pair
}

/** The relay mix on both processes at once; 2xx per second and per server CPU second. */
const relayMix = async (pair: Array<{ url: string; child: Child }>, seconds: number) => {
  const before = pair.map((s) => cpuSeconds(s.child.pid))
  const results = await Promise.all(
    pair.map(async (s) => {
      const options = JSON.stringify({ url: s.url, connections: Math.max(1, CONNECTIONS / 2), seconds })
      const out = await collect(process.execPath, ['--import', 'tsx', 'bench/relay/load.ts', options], {
        core: OTHER_CORE,
        env: baseEnv(),
        timeoutMs: seconds * 1000 + 60_000,
      })
      return JSON.parse(out.trim().split('\n').pop() as string) as LoadResult
    }),
  )
  const cpu = pair.reduce((sum, s, i) => sum + cpuSeconds(s.child.pid) - (before[i] as number), 0)
  const ok = results.reduce((sum, r) => sum + r.rps * r.seconds, 0)
  const bad = results.reduce((sum, r) => sum + r.non2xx + r.errors + r.timeouts, 0)
  // The smoke mode judges no figure, only that every request of the mix got its 2xx.
  if (SMOKE && bad > 0) throw new Error(`smoke: ${bad} non-2xx, errors or timeouts in the relay mix`)
  return { rps: ok / seconds, perCpu: ok / cpu, bad }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}
const fmt = (xs: readonly number[], digits = 0): string =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`

const main = async (): Promise<void> => {
  const pinned = await canPin()
  process.stdout.write(
    `# redis topology benchmark: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; ${pinned ? 'qrelay on core 0, Redis and load on core 1' : 'NOT PINNED'}\n`,
  )
  const children: Child[] = []
  const dirs = [mkdtempSync(join(tmpdir(), 'qrelay-bench-topo-')), mkdtempSync(join(tmpdir(), 'qrelay-bench-topo-'))]
  try {
    const single = await startRedis(OTHER_CORE)
    children.push(single.child)
    const cluster = await startRedisClusterForBench(OTHER_CORE, dirs[1] as string)
    children.push(...cluster.children)
    const topologies = [
      { name: 'one Redis', pair: await startPair('single', single.url, dirs[0] as string) },
      { name: '3-primary cluster', pair: await startPair('cluster', cluster.url, dirs[1] as string) },
    ]
    for (const t of topologies) children.push(...t.pair.map((s) => s.child))
    const figures = topologies.map(() => ({
      rps: [] as number[],
      perCpu: [] as number[],
      logins: [] as number[],
      loginsPerCpu: [] as number[],
    }))
    for (const t of topologies) {
      const warm = await relayMix(t.pair, WARMUP_SECONDS)
      const login = await qrLoginsPerSecond(t.pair, ADMIN, WARMUP_LOGINS, CONCURRENCY, cpuSeconds)
      process.stdout.write(
        `warm-up ${t.name}: ${warm.rps.toFixed(0)} req/s (${warm.bad} non-2xx), ${login.perSecond.toFixed(1)} logins/s\n`,
      )
    }
    for (let round = 1; round <= REPS; round++) {
      for (const [i, t] of topologies.entries()) {
        const mix = await relayMix(t.pair, SECONDS)
        const login = await qrLoginsPerSecond(t.pair, ADMIN, LOGINS, CONCURRENCY, cpuSeconds)
        const f = figures[i] as (typeof figures)[number]
        f.rps.push(mix.rps)
        f.perCpu.push(mix.perCpu)
        f.logins.push(login.perSecond)
        f.loginsPerCpu.push(login.perCpuSecond)
        process.stdout.write(
          `round ${round} ${t.name}: relay ${mix.rps.toFixed(0)} req/s, ${mix.perCpu.toFixed(0)} per CPU-s, ${mix.bad} non-2xx; ` +
            `${login.perSecond.toFixed(1)} logins/s, ${login.perCpuSecond.toFixed(2)} per CPU-s\n`,
        )
      }
    }
    const [one, clu] = figures as [(typeof figures)[number], (typeof figures)[number]]
    const ratio = (a: number[], b: number[]) => (median(b) / median(a)).toFixed(2)
    process.stdout.write(
      [
        '',
        `| measure (two qrelay processes) | one Redis, median (range) | 3-primary cluster, median (range) | cluster ÷ one |`,
        '| --- | ---: | ---: | ---: |',
        `| relay mix, 2xx req/s | ${fmt(one.rps)} | ${fmt(clu.rps)} | ${ratio(one.rps, clu.rps)} |`,
        `| relay mix, req per server CPU-s | ${fmt(one.perCpu)} | ${fmt(clu.perCpu)} | ${ratio(one.perCpu, clu.perCpu)} |`,
        `| QR logins/s (${CONCURRENCY} at once) | ${fmt(one.logins, 1)} | ${fmt(clu.logins, 1)} | ${ratio(one.logins, clu.logins)} |`,
        `| QR logins per server CPU-s | ${fmt(one.loginsPerCpu, 2)} | ${fmt(clu.loginsPerCpu, 2)} | ${ratio(one.loginsPerCpu, clu.loginsPerCpu)} |`,
        '',
        `${REPS} rounds × ${SECONDS} s relay (${CONNECTIONS} connections) + ${LOGINS} logins per topology; load average at the end ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
        '',
      ].join('\n'),
    )
  } finally {
    for (const child of children.reverse()) await child.stop()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((error: unknown) => {
  const cause =
    error instanceof Error && error.cause !== undefined ? `\ncaused by: ${String((error.cause as Error).stack ?? error.cause)}` : ''
  process.stderr.write(`bench:redis-topology: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}${cause}\n`)
  process.exit(1)
})
