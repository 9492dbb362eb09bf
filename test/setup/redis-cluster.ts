/**
 * Vitest global setup of the `cluster` project: one real 3-primary Redis Cluster for the whole run
 * (test/helpers/redis-cluster.ts), stopped by PID afterwards. It provides its URL as `redisUrl` too, so a
 * `*.cluster.test.ts` file that imports a two-process `*.redis.test.ts` suite runs that suite, unchanged,
 * against the cluster. Without redis-server the cluster suites are skipped, except in CI.
 */
import type { TestProject } from 'vitest/node'
import { hasRedisServer, startRedisCluster } from '../helpers/redis-cluster.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    redisCluster: { url: string; ports: number[] } | null
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!hasRedisServer()) {
    project.provide('redisCluster', null)
    project.provide('redisUrl', null)
    return async () => {}
  }
  const cluster = await startRedisCluster()
  project.provide('redisCluster', { url: cluster.url, ports: cluster.ports })
  project.provide('redisUrl', cluster.url)
  return () => cluster.stop()
}
