/**
 * Vitest global setup: gives the Redis suites a real redis-server. Uses REDIS_URL when set; otherwise
 * starts `redis-server` on a free loopback port (no persistence, capped memory) and stops it by its
 * PID afterwards. In CI (CI=true) a missing redis-server fails the run: a skipped Redis suite is a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import type { TestProject } from 'vitest/node'
import type {} from 'vitest'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string | null
  }
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const waitForPong = async (port: number, deadlineMs: number): Promise<void> => {
  const { Redis } = await import('ioredis')
  while (Date.now() < deadlineMs) {
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {}) // refused while the server starts: expected, retried below
    try {
      await client.connect()
      if ((await client.ping()) === 'PONG') return
    } catch {
      // not up yet
    } finally {
      client.disconnect()
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('redis-server did not answer PING in time')
}

let child: ChildProcess | undefined

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.REDIS_URL) {
    project.provide('redisUrl', process.env.REDIS_URL)
    return async () => {}
  }
  const port = await freePort()
  try {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory', '256mb', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    )
    await new Promise<void>((resolve, reject) => {
      child!.once('error', reject)
      child!.once('spawn', () => resolve())
    })
    await waitForPong(port, Date.now() + 10_000)
  } catch (error) {
    child?.kill('SIGKILL')
    child = undefined
    if (process.env.CI) throw new Error(`CI needs redis-server for the Redis suites: ${String(error)}`)
    console.warn(`\n[qrelay tests] redis-server unavailable (${String(error)}): Redis suites will be skipped\n`)
    project.provide('redisUrl', null)
    return async () => {}
  }
  project.provide('redisUrl', `redis://127.0.0.1:${port}`)
  return async () => {
    if (child?.pid !== undefined) {
      const exited = new Promise((resolve) => child!.once('exit', resolve))
      process.kill(child.pid, 'SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
    }
  }
}
