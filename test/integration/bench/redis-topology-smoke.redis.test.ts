/**
 * The fast version of the Redis topology benchmark (`bench/redis-topology/run.ts --smoke`): a
 * redis-server and a 3-primary Redis Cluster of its own, two qrelay processes on each, one short round
 * of the relay mix and two QR logins per topology. Only that it runs, every request gets its 2xx and it
 * reports: its figures mean nothing.
 */
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { runSmoke } from './run-bench.ts'

const hasRedis =
  spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0 &&
  spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0

describe.skipIf(!hasRedis)('bench:redis-topology smoke', () => {
  it('runs the relay mix and QR logins on one Redis and on a cluster, and reports both', { timeout: 180_000 }, async () => {
    const { code, stdout, stderr } = await runSmoke('bench/redis-topology/run.ts', 170_000)
    expect(code, `${stdout}\n${stderr}`).toBe(0)
    expect(stdout).toMatch(/round 1 one Redis: .* 0 non-2xx/)
    expect(stdout).toMatch(/round 1 3-primary cluster: .* 0 non-2xx/)
    expect(stdout).toContain('| relay mix, 2xx req/s |')
    expect(stdout).toContain('| QR logins per server CPU-s |')
  })
})
