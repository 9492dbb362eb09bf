/**
 * The device SDK across two qrelay processes (HTTP, WebSocket fan-out over sharded pub/sub) on the run's 3-primary Redis Cluster: the suite of sdk.redis.test.ts, unchanged. In the `cluster` project the
 * test Redis URL is the cluster's (test/setup/redis-cluster.ts), so its processes start with
 * `QRELAY_REDIS_URL=redis+cluster://…`.
 */
import { expect, it } from 'vitest'
import { redisUrl } from '../../helpers/redis.ts'
import { runCluster } from '../../helpers/redis-cluster.ts'
import './sdk.redis.test.ts'

it.skipIf(runCluster() === null)('runs on the cluster', () => {
  expect(redisUrl()).toBe(runCluster()?.url)
  expect(redisUrl()).toMatch(/^redis\+cluster:\/\//)
})
