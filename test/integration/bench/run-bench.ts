/**
 * Runs a benchmark script's `--smoke` mode as a child process (bounded), for the fast versions of the
 * benchmarks that `npm test` keeps.
 */
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { withDistLock } from '../../helpers/dist-lock.ts'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

/** Exit code and output of `node --import tsx <script> --smoke`; killed (SIGKILL) past `timeoutMs`. */
export const runSmoke = (script: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const env: Record<string, string> = {}
    for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith('QRELAY_')) env[name] = value
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--smoke'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')))
    // The script stops its own servers on exit; SIGTERM makes it exit through that path.
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

/** Whether each named Redis tool (`redis-server`, `redis-cli`) runs on this machine, for the Redis-backed smokes. */
export const hasTools = (...tools: string[]): boolean =>
  tools.every((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0)

/**
 * One smoke test: `script --smoke` run within the test's `timeoutMs` (killed a little before it), its
 * exit code 0 (the output is the failure message), then `check` on what it printed. `buildsDist`: the
 * script rebuilds dist/, so it runs under the dist/ lock (`dist-lock.ts`), its wait not counted.
 */
export const smokeTest = (
  title: string,
  script: string,
  timeoutMs: number,
  check: (out: { stdout: string; stderr: string }) => void,
  { buildsDist = false }: { buildsDist?: boolean } = {},
): void => {
  const lockWaitMs = buildsDist ? 120_000 : 0
  it(title, { timeout: timeoutMs + lockWaitMs }, async () => {
    const run = () => runSmoke(script, timeoutMs - Math.max(5_000, timeoutMs / 20))
    const { code, stdout, stderr } = buildsDist ? await withDistLock(run, lockWaitMs) : await run()
    expect(code, `${stdout}\n${stderr}`).toBe(0)
    check({ stdout, stderr })
  })
}
