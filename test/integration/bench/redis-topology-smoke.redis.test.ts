/**
 * The fast version of the Redis topology benchmark (`bench/redis-topology/run.ts --smoke`): a
 * redis-server and a 3-primary Redis Cluster of its own, two qrelay processes on each, one short round
 * of the relay mix and two QR logins per topology. Only that it runs, every request gets its 2xx and it
 * reports: its figures mean nothing.
 */
import { describe, expect } from 'vitest'
import { hasTools, smokeTest } from './run-bench.ts'

const hasRedis = hasTools('redis-server', 'redis-cli')

describe.skipIf(!hasRedis)('bench:redis-topology smoke', () => {
  smokeTest(
    'runs the relay mix and QR logins on one Redis and on a cluster, and reports both',
    'bench/redis-topology/run.ts',
    180_000,
    ({ stdout }) => {
      expect(stdout).toMatch(/round 1 one Redis: .* 0 non-2xx/)
      expect(stdout).toMatch(/round 1 3-primary cluster: .* 0 non-2xx/)
      expect(stdout).toContain('| relay mix, 2xx req/s |')
      expect(stdout).toContain('| QR logins per server CPU-s |')
    },
  )
})
