/**
 * QR login end to end across two qrelay processes on the run's 3-primary Redis Cluster: the suite of e2e.redis.test.ts, unchanged. In the `cluster` project the
 * test Redis URL is the cluster's (test/setup/redis-cluster.ts), so its processes start with
 * `QRELAY_REDIS_URL=redis+cluster://…`.
 */
import { expect, it } from 'vitest'
import { redisUrl } from '../../helpers/redis.ts'
import { runCluster } from '../../helpers/redis-cluster.ts'
import './e2e.redis.test.ts'

it.skipIf(runCluster() === null)('runs on the cluster', () => {
  expect(redisUrl()).toBe(runCluster()?.url)
  expect(redisUrl()).toMatch(/^redis\+cluster:\/\//)
})
