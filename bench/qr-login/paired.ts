/**
 * QR login A/B in one process (`node --import tsx bench/qr-login/paired.ts`): this tree and another
 * checkout (`BENCH_BASE_DIR`, e.g. a `git archive` of the base commit with `node_modules` resolvable)
 * each start their own Node server (embedded SQLite) and run full WebSocket QR logins through their own
 * SDK, as `run.ts` does, alternated login by login (ABBA) after a warm-up. Whatever else loads the
 * machine falls on both trees alike, which separate runs of `run.ts` cannot promise on a shared host.
 *
 * Per login: wall time, and the process's CPU time (user + system, `process.cpuUsage`: both servers are
 * idle while the other tree logs in). Reported per tree: p25, p50, p99 wall; p25, p50 and mean CPU; and
 * after ÷ before of each.
 *
 * Knobs (environment): BENCH_BASE_DIR (required), BENCH_PAIRS (150), BENCH_WARMUP (20 per tree).
 *
 * The two slots are not alike: the tree this script belongs to measured 5–17 % more CPU per login
 * than the other in runs where it was the base tree or the same code (2026-12-07, load 7–12; cause not
 * found: not the start order, not only the working directory's tsconfig). Compare two trees by runs
 * of both scripts (this one with `BENCH_BASE_DIR` = the other tree, the other tree's with
 * `BENCH_BASE_DIR` = this one) and take the geometric mean of the ratios; an A/A run (a `git archive`
 * copy of this tree as the base) shows the noise.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import { BENCH_ADMIN_TOKEN, qrLoginBenchEnv } from './server-env.ts'

type Devices = typeof import('../../src/client/devices.ts')
type Transport = typeof import('../../src/client/ws-transport.ts')
type Server = typeof import('../../src/runtime/node-server.ts')
type ConfigModule = typeof import('../../src/config.ts')
type Platform = typeof import('../../src/adapters/platform/node.ts')

const count = (name: string, fallback: number, max: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value <= 0 || value > max) throw new Error(`${name} must be a whole number in (0, ${max}]`)
  return value
}
const BASE_DIR = process.env.BENCH_BASE_DIR
if (BASE_DIR === undefined) throw new Error('BENCH_BASE_DIR: the checkout to compare this tree with')
const PAIRS = count('BENCH_PAIRS', 150, 100_000)
const WARMUP = count('BENCH_WARMUP', 20, 1000)
const HERE = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const PASSWORD = 'correct horse battery staple'
const ADMIN = BENCH_ADMIN_TOKEN

interface Tree {
  login(): Promise<void>
  stop(): Promise<void>
}

/** Starts `dir`'s server with `run.ts`'s settings and returns one login through `dir`'s SDK. */
const start = async (dir: string): Promise<Tree> => {
  const { parseConfig } = (await import(join(dir, 'src/config.ts'))) as ConfigModule
  const { silentLogger } = (await import(join(dir, 'src/adapters/platform/node.ts'))) as Platform
  const devices = (await import(join(dir, 'src/client/devices.ts'))) as Devices
  const { webSocketTransport } = (await import(join(dir, 'src/client/ws-transport.ts'))) as Transport
  const { startNodeServer } = (await import(join(dir, 'src/runtime/node-server.ts'))) as Server
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-bench-paired-'))
  const config = parseConfig(qrLoginBenchEnv(dataDir))
  const server = await startNodeServer(config, { logger: silentLogger })
  const base = server.url.replace(/\/$/, '')
  const post = async (path: string, body: unknown, token?: string): Promise<Record<string, unknown>> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
    return (await res.json()) as Record<string, unknown>
  }
  await post('/v1/admin/users', { username: 'bench', password: PASSWORD }, ADMIN)
  const first = await post('/v1/login', { username: 'bench' })
  const auth = { type: 'm.login.password', session: first.session, password: PASSWORD }
  const approverToken = (await post('/v1/login', { username: 'bench', auth })).access_token as string
  const login = async (): Promise<void> => {
    const transport = () => webSocketTransport({ baseUrl: base, WebSocket })
    const shown = await devices.NewDevice.showQr({ baseUrl: base, transport: transport() })
    const scan = await devices.ExistingDevice.scanQr(shown.qrLink, { baseUrl: base, transport: transport() })
    try {
      await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scan.connect({ timeoutMs: 10_000 })])
      await shown.confirmCheckCode(scan.checkCode)
      const [signedIn, approval] = await Promise.all([
        devices.signIn(shown, { baseUrl: base, deviceName: 'bench' }),
        devices.approveSignIn(scan, { baseUrl: base, accessToken: approverToken, confirm: () => true }),
      ])
      if (approval.status !== 'approved' || signedIn.accessToken === '') throw new Error(`login: ${approval.status}`)
    } finally {
      await scan.close().catch(() => {})
      await shown.close().catch(() => {})
    }
  }
  return { login, stop: async () => (await server.stop(), rmSync(dataDir, { recursive: true, force: true })) }
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

const main = async (): Promise<void> => {
  const trees = { before: await start(resolve(BASE_DIR)), after: await start(HERE) }
  const wall = { before: [] as number[], after: [] as number[] }
  const cpu = { before: [] as number[], after: [] as number[] }
  try {
    for (let i = 0; i < WARMUP; i++) for (const tree of Object.values(trees)) await tree.login()
    const load = loadavg()[0] ?? 0
    for (let i = 0; i < PAIRS; i++) {
      for (const name of i % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const)) {
        const cpuAt = process.cpuUsage()
        const at = performance.now()
        await trees[name].login()
        wall[name].push(performance.now() - at)
        const used = process.cpuUsage(cpuAt)
        cpu[name].push((used.user + used.system) / 1000)
      }
    }
    const row = (name: 'before' | 'after', dir: string) =>
      `| ${name} (${dir}) | ${[0.25, 0.5, 0.99].map((q) => quantile(wall[name], q).toFixed(1)).join(' / ')} ms | ${[0.25, 0.5].map((q) => quantile(cpu[name], q).toFixed(2)).join(' / ')} / ${mean(cpu[name]).toFixed(2)} ms |`
    const ratio = (f: (xs: number[]) => number, xs: { before: number[]; after: number[] }) => (f(xs.after) / f(xs.before)).toFixed(3)
    const p50 = (xs: number[]) => quantile(xs, 0.5)
    process.stdout.write(
      [
        `# qr-login A/B in one process — ${new Date().toISOString()}; ${PAIRS} pairs (ABBA) after ${WARMUP} warm-up logins each; load average ${load.toFixed(2)} → ${(loadavg()[0] ?? 0).toFixed(2)}`,
        '',
        '| tree | wall p25 / p50 / p99 | CPU per login p25 / p50 / mean |',
        '|---|---|---|',
        row('before', resolve(BASE_DIR)),
        row('after', HERE),
        `| after ÷ before | p50 ${ratio(p50, wall)} | p50 ${ratio(p50, cpu)}, mean ${ratio(mean, cpu)} |`,
        '',
      ].join('\n'),
    )
  } finally {
    await trees.before.stop()
    await trees.after.stop()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
