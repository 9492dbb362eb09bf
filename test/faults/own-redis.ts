/**
 * A redis-server of the test's own, for fault injection: a free loopback port, its data in a temp
 * directory with the append-only file fsynced on every write (the persistence qrelay requires of a
 * Redis that holds the durable store, see docs/security/faults.md), killed by its PID and restarted
 * on the same port and directory. Every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

/** A free loopback TCP port (closed again before it is returned). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

/** True when `redis-server` can be spawned here. */
export const hasRedisServer = (): boolean => {
  return spawnSync('redis-server', ['--version']).status === 0
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves once the server on `port` answers PING; throws past `timeoutMs`. */
export const waitForPong = async (port: number, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await client.connect()
      if ((await client.ping()) === 'PONG') return
    } catch {
      // not up yet
    } finally {
      client.disconnect()
    }
    await sleep(50)
  }
  throw new Error(`redis-server on ${port} did not answer PING within ${timeoutMs} ms`)
}

/** A redis-server this test owns. */
export interface OwnRedis {
  port: number
  url: string
  /** The PID of the running server (undefined while it is down). */
  pid(): number | undefined
  /** SIGKILL by PID; resolves once it exited. */
  kill(): Promise<void>
  /** Starts it again on the same port and directory (the AOF is replayed); resolves once it answers PING. */
  start(): Promise<void>
  /** Kills it and removes its directory. */
  close(): Promise<void>
}

/**
 * Starts a redis-server with `appendonly yes` and `appendfsync always` in a new temp directory.
 *
 * @example
 * const redis = await ownRedis()
 * await redis.kill(); await redis.start()
 */
export const ownRedis = async (): Promise<OwnRedis> => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'qrelay-faults-redis-'))
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--loglevel',
        'warning',
      ],
      { stdio: 'ignore' },
    )
    await new Promise<void>((resolve, reject) => {
      proc.once('error', reject)
      proc.once('spawn', () => resolve())
    })
    child = proc
    await waitForPong(port)
  }
  const kill = async (): Promise<void> => {
    const proc = child
    child = undefined
    if (proc?.pid === undefined || proc.exitCode !== null) return
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    process.kill(proc.pid, 'SIGKILL')
    await Promise.race([exited, sleep(5000)])
  }
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => child?.pid,
    kill,
    start,
    async close() {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
