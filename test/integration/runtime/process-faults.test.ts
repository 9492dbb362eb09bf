/**
 * One fault must not take the whole process down, and a fault nothing caught must not go unlogged, on
 * real qrelay processes (`node src/runtime/node.ts`, the memory store and SQLite in a temporary data
 * directory): a client that resets its connection after a non-WebSocket upgrade, a log reader that went
 * away (stdout and stderr closed pipes), and the process-level policy (an uncaught exception or an
 * unhandled rejection is logged at error without its message, then the process exits 1).
 * docs/security/faults.md, "Fixed here".
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { FAULT_MESSAGE } from '../../helpers/fault-trigger.ts'
import { spawnServer } from '../../helpers/spawn-server.ts'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-process-faults-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const children: ChildProcess[] = []
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

/** qrelay with `preload` modules, stdout and stderr piped; resolves with its URL once it logs `listening`. */
const startRaw = async (preload: string[], env: Record<string, string> = {}) => {
  const child = spawn(process.execPath, ['--import', 'tsx', ...preload.flatMap((p) => ['--import', p]), 'src/runtime/node.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', QRELAY_PORT: '0', QRELAY_HOST: '127.0.0.1', QRELAY_DATA_DIR: dataDir, ...env },
  })
  children.push(child)
  const stdout: string[] = []
  const stderr: string[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => stdout.push(line))
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line))
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>
  const deadline = Date.now() + 15_000
  let url: string | undefined
  while (url === undefined && Date.now() < deadline && child.exitCode === null) {
    for (const line of stdout) url ??= /"msg":"listening"/.test(line) ? (JSON.parse(line) as { url: string }).url : undefined
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  if (url === undefined) throw new Error(`qrelay did not start: ${stderr.join('\n')}`)
  return { child, url, stdout, stderr, exited }
}

/** Resolves with `promise`'s value, or rejects after `ms`. */
const within = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms))])

describe('a fault stays local to its connection', () => {
  it('finding 27: a client resetting its connection after a refused non-WebSocket upgrade leaves the process serving', async () => {
    const server = await spawnServer({ QRELAY_DATA_DIR: dataDir })
    try {
      const { port } = new URL(server.url)
      for (const upgrade of ['h2c', 'TLS/1.2', 'foo']) {
        const socket = connect(Number(port), '127.0.0.1')
        await once(socket, 'connect')
        socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n\r\n`)
        const [answer] = (await once(socket, 'data')) as [Buffer]
        expect(answer.toString('latin1')).toMatch(/^HTTP\/1\.1 400 /)
        // RST instead of FIN: the server's socket reads ECONNRESET (an uncaught 'error' before the fix).
        socket.resetAndDestroy()
        await once(socket, 'close')
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
      const healthz = await server.fetch('/healthz')
      expect(healthz.status).toBe(200)
    } finally {
      const exit = await server.stop()
      expect(exit).toEqual({ code: 0, signal: null })
    }
  })

  it('a log reader that went away (stdout and stderr closed) stops neither the serving nor a graceful stop', async () => {
    const { child, url, exited } = await startRaw([])
    child.stdout!.destroy()
    child.stderr!.destroy()
    // Every request writes an access line to the closed stdout (EPIPE once the pipe's reader is gone).
    for (let i = 0; i < 20; i++) expect((await fetch(`${url}/healthz`)).status).toBe(200)
    // The stop announces itself on the closed stderr (an uncaught EPIPE before the fix: exit 1, no grace).
    child.kill('SIGTERM')
    const [code, signal] = await within(exited, 15_000)
    expect({ code, signal }).toEqual({ code: 0, signal: null })
  })
})

describe('a fault nothing caught: logged without its message, then exit 1', () => {
  it.each(['throw', 'reject'])('%s', async (kind) => {
    const { child, url, stdout, stderr, exited } = await startRaw(['./test/helpers/fault-trigger.ts'], { FAULT_TRIGGER: kind })
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    child.kill('SIGUSR2')
    const [code, signal] = await within(exited, 15_000)
    expect({ code, signal }).toEqual({ code: 1, signal: null })
    const faults = stdout
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.msg === 'uncaught fault, exiting')
    expect(faults).toHaveLength(1)
    const fault = faults[0] as { level: number; origin: string; err: { class: string; at?: string[] } }
    expect(fault.level).toBe(50)
    expect(fault.origin).toBe(kind === 'throw' ? 'uncaughtException' : 'unhandledRejection')
    expect(fault.err.class).toBe('Error')
    expect(fault.err.at?.some((frame) => frame.includes('fault-trigger'))).toBe(true)
    expect(stderr).toContain(`qrelay: ${kind === 'throw' ? 'uncaught exception' : 'unhandled rejection'}, exiting`)
    // Not a word of the message anywhere (Node's default handler printed it with the stack on stderr).
    expect([...stdout, ...stderr].join('\n')).not.toContain('NOT_FOR_LOGS')
    expect(FAULT_MESSAGE).toContain('NOT_FOR_LOGS')
  })
})
