/**
 * A 3-primary Redis Cluster for the topology benchmark: three `redis-server --cluster-enabled yes` on
 * free loopback ports, pinned to one core like the benchmark's single Redis, no persistence, joined by
 * `redis-cli --cluster create --cluster-replicas 0`; ready once every node reports `cluster_state:ok`.
 */
import { join } from 'node:path'
import { collect, freePort, startChild, type Child } from '../relay/processes.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** `redis-cli -p port args…`, or '' when it fails. */
const cli = (core: number, port: number, ...args: string[]): Promise<string> =>
  collect('redis-cli', ['-p', String(port), ...args], { core, timeoutMs: 30_000 }).catch(() => '')

/**
 * Starts the cluster; `dir` holds its node files. The caller stops the children.
 *
 * @example
 * const cluster = await startRedisClusterForBench(1, dir)
 */
export const startRedisClusterForBench = async (core: number, dir: string): Promise<{ url: string; children: Child[] }> => {
  const children: Child[] = []
  const ports: number[] = []
  for (let i = 0; i < 3; i++) {
    const [port, bus] = [await freePort(), await freePort()]
    ports.push(port)
    children.push(
      await startChild(
        'redis-server',
        [
          ...['--port', String(port), '--cluster-port', String(bus), '--bind', '127.0.0.1', '--dir', dir],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`)],
          ...['--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
        ],
        { core },
      ),
    )
  }
  try {
    for (const port of ports) {
      for (let i = 0; i < 200 && !(await cli(core, port, 'PING')).includes('PONG'); i++) await sleep(50)
    }
    const nodes = ports.map((port) => `127.0.0.1:${port}`)
    await collect('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { core, timeoutMs: 30_000 })
    for (const port of ports) {
      let ok = false
      for (let i = 0; i < 300 && !ok; i++) {
        ok = (await cli(core, port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')
        if (!ok) await sleep(50)
      }
      if (!ok) throw new Error(`cluster node ${port} never reported cluster_state:ok`)
    }
    return { url: `redis+cluster://${nodes.join(',')}`, children }
  } catch (error) {
    for (const child of children) await child.stop()
    throw error
  }
}
