/**
 * Redis behind Sentinel for tests: a primary, one replica and one sentinel (quorum 1, a node is down
 * after 1 s) on free loopback ports, no persistence, files in a temporary directory. Each process is
 * kept with its PID; {@link SentinelSetup.killPrimary} SIGKILLs the primary by PID, and stop() ends the
 * rest the same way.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { askNode, freePort, startRedisServer, stopChild, waitFor } from './redis-cluster.ts'

/** The master name the sentinel monitors. */
export const MASTER_NAME = 'qrelay'

/** A running primary, replica and sentinel. */
export interface SentinelSetup {
  /** `redis+sentinel://127.0.0.1:<sentinel port>/qrelay`, as QRELAY_REDIS_URL. */
  url: string
  primaryPort: number
  replicaPort: number
  sentinelPort: number
  /** SIGKILL to the primary's PID; resolves once it is gone. */
  killPrimary(): Promise<void>
  /** Resolves once the sentinel names the replica as the master (bounded). */
  promoted(ms?: number): Promise<void>
  stop(): Promise<void>
}

const NO_PERSISTENCE = ['--save', '', '--appendonly', 'no', '--loglevel', 'warning', '--bind', '127.0.0.1']

/**
 * Starts the three processes and waits until the replica is in sync and the sentinel knows it.
 *
 * @example
 * const sentinel = await startSentinelSetup()
 * await sentinel.killPrimary()
 * await sentinel.promoted()
 */
export const startSentinelSetup = async (): Promise<SentinelSetup> => {
  const dir = mkdtempSync(join(tmpdir(), 'qrelay-sentinel-'))
  const children: ChildProcess[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(stopChild))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const [primaryPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()]
    const diskless = ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--dir', dir]
    const primary = await startRedisServer(['--port', String(primaryPort), ...NO_PERSISTENCE, ...diskless])
    children.push(primary)
    await waitFor('primary', async () => (await askNode(primaryPort, 'PING')) === 'PONG')
    children.push(
      await startRedisServer([
        '--port',
        String(replicaPort),
        ...NO_PERSISTENCE,
        ...diskless,
        '--replicaof',
        '127.0.0.1',
        String(primaryPort),
      ]),
    )
    await waitFor('replica in sync', async () =>
      ((await askNode(replicaPort, 'INFO', 'replication')) ?? '').includes('master_link_status:up'),
    )
    const conf = join(dir, 'sentinel.conf')
    writeFileSync(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primaryPort} 1`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 5000`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        '',
      ].join('\n'),
    )
    children.push(await startRedisServer([conf, '--sentinel', '--loglevel', 'warning']))
    await waitFor('sentinel knows the replica', async () =>
      ((await askNode(sentinelPort, 'SENTINEL', 'REPLICAS', MASTER_NAME)) ?? '').includes(String(replicaPort)),
    )
    const masterPort = async (): Promise<string | null> => {
      const answer = await askNode(sentinelPort, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)
      return answer === null ? null : (answer.split(',')[1] ?? null)
    }
    return {
      url: `redis+sentinel://127.0.0.1:${sentinelPort}/${MASTER_NAME}`,
      primaryPort,
      replicaPort,
      sentinelPort,
      async killPrimary() {
        const exited = new Promise((resolve) => primary.once('exit', resolve))
        process.kill(primary.pid as number, 'SIGKILL')
        await exited
      },
      promoted: (ms = 20_000) => waitFor('failover to the replica', async () => (await masterPort()) === String(replicaPort), ms),
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
