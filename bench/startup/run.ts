/**
 * Startup benchmark (`npm run bench:startup`): time from spawning a process to its first 200 on
 * `/readyz`, for qrelay as `npm start` runs it (`node scripts/start.mjs`: staleness check, then the
 * bundle in dist/, memory store, SQLite in a temporary directory) and for a bare `node:http` server
 * in the same run, alternating, on loopback. The bundle is built once before the rounds. Reports
 * medians, ranges and the ratio; the target is ready in ≤ 250 ms.
 *
 * Knobs (environment): BENCH_RUNS (15, at most 100).
 *
 * `--smoke` (what `npm test` runs, test/integration/bench/startup-smoke.test.ts): the build, then one
 * run of each; a process that exits before ready or is not ready in 10 s exits 1 (as in the full run).
 *
 * @see BENCHMARKS.md (targets and verdicts)
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, freePort } from '../relay/processes.ts'

const SMOKE = process.argv.includes('--smoke')
const RUNS = Math.min(100, Math.max(1, Math.round(Number(process.env.BENCH_RUNS ?? (SMOKE ? 1 : 15)))))
const TIMEOUT_MS = 10_000
const TARGET_MS = 250

/** A server that answers 200 on every path: the floor of a Node process that listens. */
const BARE = "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1')"

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Milliseconds from spawn to the first 200 on `url`; the process is stopped afterwards. */
const timeToReady = async (start: () => ChildProcess, url: string): Promise<number> => {
  const began = performance.now()
  const child = start()
  try {
    while (performance.now() - began < TIMEOUT_MS) {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before ready`)
      const ok = await fetch(url).then(
        (response) => response.status === 200,
        () => false,
      )
      if (ok) return performance.now() - began
      await sleep(2)
    }
    throw new Error(`not ready within ${TIMEOUT_MS} ms`)
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

const build = spawnSync(process.execPath, ['--import', 'tsx', join('scripts', 'build.ts'), '--js'], { cwd: ROOT, stdio: 'inherit' })
if (build.status !== 0) throw new Error('build failed')

const bare: number[] = []
const qrelay: number[] = []
const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-startup-'))
try {
  for (let run = 0; run < RUNS; run++) {
    const barePort = await freePort()
    bare.push(
      await timeToReady(
        () => spawn(process.execPath, ['-e', BARE], { env: { ...process.env, PORT: String(barePort) }, stdio: 'ignore' }),
        `http://127.0.0.1:${barePort}/`,
      ),
    )
    const port = await freePort()
    const env = { ...process.env, QRELAY_PORT: String(port), QRELAY_HOST: '127.0.0.1', QRELAY_DATA_DIR: dataDir, QRELAY_LOG_LEVEL: 'warn' }
    qrelay.push(
      await timeToReady(
        () => spawn(process.execPath, [join('scripts', 'start.mjs')], { cwd: ROOT, env, stdio: 'ignore' }),
        `http://127.0.0.1:${port}/readyz`,
      ),
    )
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}

const fmt = (values: number[]): string =>
  `median ${median(values).toFixed(0)} ms (${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)})`
const ready = median(qrelay)
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, ${RUNS} runs each, ${process.version}`,
)
console.log(`bare node:http  ${fmt(bare)}`)
console.log(`qrelay          ${fmt(qrelay)}`)
console.log(
  `ratio qrelay ÷ bare: ${(ready / median(bare)).toFixed(2)} ×; target ≤ ${TARGET_MS} ms: ${ready <= TARGET_MS ? 'met' : 'missed'}`,
)
