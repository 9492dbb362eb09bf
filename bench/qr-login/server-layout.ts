/**
 * Where the QR login benchmark's server runs (`BENCH_LAYOUT`): `two-process` (the default) starts
 * `src/runtime/node.ts` as a child process pinned to core 0 with `taskset` (when it works here) and
 * pins the bench process (the devices and the bare crypto) to core 1, as a deployment has the server on
 * a machine of its own; `one-process` starts the server in the bench process, on its thread, so a
 * login's latency is the server's and both devices' CPU added up. Same configuration either way
 * (`server-env.ts`: embedded SQLite, generous rates, the admin token).
 *
 * `BENCH_PIN=0` (two processes only): neither process pinned, the scheduler places both (on a shared
 * machine a pinned process waits for its core even when the other is idle).
 * `BENCH_SERVER_TREE` (two processes only): another checkout whose `src/runtime/node.ts` the child runs
 * (e.g. the base of an A/B of server changes: the devices, the SDK and the bare crypto stay this tree's).
 */
import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { parseConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/adapters/platform/node.ts'
import { startNodeServer } from '../../src/runtime/node-server.ts'
import { canPin, cpuSeconds, freePort, ROOT, startChild, waitForHttp } from '../relay/processes.ts'
import { qrLoginBenchEnv } from './server-env.ts'
import { qrelayServerArgs } from '../qrelay-entry.ts'

/** The two layouts `BENCH_LAYOUT` names. */
export type Layout = 'two-process' | 'one-process'

/** The layout `BENCH_LAYOUT` asks for (default `two-process`). */
export const layoutOf = (value: string | undefined): Layout => {
  if (value === undefined || value === '' || value === 'two-process') return 'two-process'
  if (value === 'one-process') return 'one-process'
  throw new Error(`BENCH_LAYOUT must be two-process or one-process, got ${value}`)
}

/** A running bench server. */
export interface BenchServer {
  /** Its origin, no trailing slash. */
  base: string
  /** One line saying where the server and the devices run. */
  description: string
  /** The server process's CPU milliseconds so far (user + system, 10 ms ticks); `undefined` in one process (its CPU is the bench's). */
  cpuMs(): number | undefined
  stop(): Promise<void>
}

/**
 * Starts the server of `layout` on `dataDir`. `cpuProfDir`: the child runs with `--cpu-prof` and
 * writes its profile there when it stops (two processes only).
 */
export const startBenchServer = async (layout: Layout, dataDir: string, cpuProfDir?: string): Promise<BenchServer> => {
  const env = qrLoginBenchEnv(dataDir)
  const tree = resolve(process.env.BENCH_SERVER_TREE ?? ROOT)
  if (layout === 'one-process') {
    if (tree !== resolve(ROOT)) throw new Error('BENCH_SERVER_TREE needs BENCH_LAYOUT=two-process')
    const server = await startNodeServer(parseConfig(env), { logger: silentLogger })
    return {
      base: server.url.replace(/\/$/, ''),
      description: 'one process: server and both devices on one thread (BENCH_LAYOUT=one-process)',
      cpuMs: () => undefined,
      stop: () => server.stop(),
    }
  }
  const pinned = process.env.BENCH_PIN !== '0' && (await canPin())
  // The devices and the bare crypto: this process, on core 1; the server on core 0.
  if (pinned) execFileSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' })
  const port = await freePort()
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('QRELAY_')))
  const profile = cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${cpuProfDir}`]
  const child = await startChild(process.execPath, [...profile, ...qrelayServerArgs(tree)], {
    core: 0,
    pin: pinned,
    env: { ...inherited, ...env, QRELAY_PORT: String(port) },
  })
  const base = `http://127.0.0.1:${port}`
  await waitForHttp(`${base}/readyz`, 30_000, child)
  return {
    base,
    description: `two processes: server (${tree}) in its own (pid ${child.pid}), devices and bare crypto in this one; ${
      pinned
        ? 'server pinned to core 0, this process to core 1'
        : process.env.BENCH_PIN === '0'
          ? 'not pinned (BENCH_PIN=0)'
          : 'not pinned (taskset unavailable)'
    }`,
    cpuMs: () => cpuSeconds(child.pid) * 1000,
    stop: () => child.stop(10_000),
  }
}
