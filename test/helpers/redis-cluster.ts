/**
 * A real Redis Cluster for tests: three `redis-server --cluster-enabled yes` on free loopback ports (no
 * persistence, config files in a temporary directory), joined by `redis-cli --cluster create
 * --cluster-replicas 0`, ready once every node reports `cluster_state:ok`. Stopped by PID, never by
 * name. The `cluster` project starts one for the whole run (test/setup/redis-cluster.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, Redis } from 'ioredis'
import { inject } from 'vitest'

/** A running cluster. */
export interface RedisClusterProcess {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`, as QRELAY_REDIS_URL. */
  url: string
  ports: number[]
  pids: number[]
  /** Each node's `redis-server` arguments: started again with them, a node comes back from its `nodes.conf`. */
  nodeArgs: string[][]
  stop(): Promise<void>
}

/** A free loopback TCP port (the kernel's choice; closed again before it is returned). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Answers `command` on `port`, or null when the server does not (yet) answer. One short-lived connection. */
export const askNode = async (port: number, ...command: string[]): Promise<string | null> => {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {}) // refused while the server starts: the caller polls
  try {
    await client.connect()
    const [name, ...args] = command as [string, ...string[]]
    return String(await client.call(name, ...args))
  } catch {
    return null
  } finally {
    client.disconnect()
  }
}

/** Polls `check` every 50 ms until it holds, failing after `ms`. */
export const waitFor = async (what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(50)
  }
  throw new Error(`${what}: not in ${ms} ms`)
}

/** Runs a program to its end (bounded), resolving with its exit code and output. */
const run = (program: string, args: string[], ms: number): Promise<{ code: number | null; output: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => (output += String(chunk)))
    child.stderr.on('data', (chunk) => (output += String(chunk)))
    const timer = setTimeout(() => child.kill('SIGKILL'), ms)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })

/** Stops `child` by its PID (SIGTERM, SIGKILL after 3 s) and waits for its exit. */
export const stopChild = async (child: ChildProcess): Promise<void> => {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  process.kill(child.pid, 'SIGTERM')
  if ((await Promise.race([exited.then(() => true), sleep(3000).then(() => false)])) === false) {
    process.kill(child.pid, 'SIGKILL')
    await exited
  }
}

/** Starts `redis-server` with `args`, resolving once it has spawned (it may still be loading). */
export const startRedisServer = async (args: string[]): Promise<ChildProcess> => {
  const child = spawn('redis-server', args, { stdio: 'ignore' })
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.once('spawn', () => resolve())
  })
  return child
}

/**
 * Starts a cluster of `primaries` primaries (at least 3, as `redis-cli --cluster create` requires).
 *
 * @example
 * const cluster = await startRedisCluster()
 * const client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })))
 * await cluster.stop()
 */
export const startRedisCluster = async (primaries = 3): Promise<RedisClusterProcess> => {
  const dir = mkdtempSync(join(tmpdir(), 'qrelay-cluster-'))
  const children: ChildProcess[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(stopChild))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const ports: number[] = []
    const nodeArgs: string[][] = []
    for (let i = 0; i < primaries; i++) {
      const [port, bus] = [await freePort(), await freePort()]
      ports.push(port)
      nodeArgs.push([
        ...['--port', String(port), '--cluster-port', String(bus), '--bind', '127.0.0.1', '--dir', dir],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000'],
        ...['--save', '', '--appendonly', 'no', '--maxmemory', '128mb', '--loglevel', 'warning'],
      ])
      children.push(await startRedisServer(nodeArgs[i] as string[]))
    }
    for (const port of ports) await waitFor(`redis-server on ${port}`, async () => (await askNode(port, 'PING')) === 'PONG')
    const nodes = ports.map((port) => `127.0.0.1:${port}`)
    const created = await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], 30_000)
    if (created.code !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.output}`)
    for (const port of ports) {
      await waitFor(`cluster_state:ok on ${port}`, async () =>
        ((await askNode(port, 'CLUSTER', 'INFO')) ?? '').includes('cluster_state:ok'),
      )
    }
    return { url: `redis+cluster://${nodes.join(',')}`, ports, pids: children.map((c) => c.pid as number), nodeArgs, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/** A cluster client on `cluster`, bounded like the server's; the caller quits it. */
export const clusterClient = (cluster: { ports: number[] }): Cluster =>
  new Cluster(
    cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
    { redisOptions: { maxRetriesPerRequest: 2 }, scaleReads: 'master' },
  )

/** Whether `redis-server` can run here; in CI its absence is an error, never a skip. */
export const hasRedisServer = (): boolean => {
  const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
  if (!found && process.env.CI) throw new Error('CI needs redis-server (and redis-cli) for the cluster suites')
  return found
}

/** The cluster of this run (test/setup/redis-cluster.ts), or null without redis-server (outside CI). */
export const runCluster = (): { url: string; ports: number[] } | null => inject('redisCluster')
