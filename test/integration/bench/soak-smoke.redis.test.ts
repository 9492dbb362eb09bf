/**
 * The fast version of the soak (`bench/soak/run.ts --smoke`): two qrelay processes on a redis-server
 * of its own, every flow of the mixed workload for a few seconds, no unexpected answer or failure.
 */
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { runSmoke } from './run-bench.ts'

const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0

describe.skipIf(!hasRedis)('bench:soak smoke', () => {
  it('runs the mixed workload on two processes sharing Redis with no unexpected answer', { timeout: 180_000 }, async () => {
    const { code, stdout, stderr } = await runSmoke('bench/soak/run.ts', 170_000)
    expect(code, `${stdout}\n${stderr}`).toBe(0)
    for (const flow of ['relay http', 'relay ws', 'password login', 'qr login', 'events long poll A', 'events long poll B']) {
      expect(stdout).toMatch(new RegExp(`${flow} \\d+`))
    }
    expect(stdout).toContain('Unexpected non-2xx answers: none')
    expect(stdout).toContain('Failed flows: none')
    expect(stdout).toContain('Verdict: PASS')
  })
})
