/**
 * matrix-js-sdk's rendezvous transport and secure channel against the Worker served by `wrangler dev`
 * (workerd, Durable Objects, local state in a temporary directory): the same scenarios as against
 * Node (js-sdk-suite.ts), so real Matrix clients work the same way on both runtimes.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describeJsSdkInterop } from './js-sdk-suite.ts'

const READY_TIMEOUT_MS = 90_000

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })

const waitReady = async (url: string, child: ChildProcess, output: () => string): Promise<void> => {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}: ${output().slice(-2000)}`)
    try {
      const res = await fetch(`${url}/healthz`)
      if (res.ok) return
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`wrangler dev not ready in ${READY_TIMEOUT_MS} ms: ${output().slice(-2000)}`)
}

describeJsSdkInterop('wrangler dev (workerd, Durable Objects)', async () => {
  const port = await freePort()
  const state = mkdtempSync(join(tmpdir(), 'qrelay-wrangler-'))
  let log = ''
  const child = spawn(
    'npx',
    [
      'wrangler',
      'dev',
      '--local',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--persist-to',
      state,
      '--var',
      'QRELAY_LOG_LEVEL:warn',
      '--show-interactive-dev-session=false',
    ],
    {
      cwd: process.cwd(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_SEND_ERROR_REPORTS: 'false',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        CI: 'true',
      },
    },
  )
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {
        // Already gone.
      }
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))])
      if (child.exitCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL')
        } catch {
          // Already gone.
        }
      }
    }
    rmSync(state, { recursive: true, force: true })
  }
  const url = `http://127.0.0.1:${port}`
  try {
    await waitReady(url, child, () => log)
  } catch (error) {
    await stop()
    throw error
  }
  return { originsA: [url], originsB: [url], stop }
})
