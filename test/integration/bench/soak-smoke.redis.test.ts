/**
 * The fast version of the soak (`bench/soak/run.ts --smoke`): two qrelay processes on a redis-server
 * of its own, every flow of the mixed workload for a few seconds, no unexpected answer or failure.
 */
import { describe, expect } from 'vitest'
import { hasTools, smokeTest } from './run-bench.ts'

const hasRedis = hasTools('redis-server')

describe.skipIf(!hasRedis)('bench:soak smoke', () => {
  smokeTest(
    'runs the mixed workload on two processes sharing Redis with no unexpected answer',
    'bench/soak/run.ts',
    180_000,
    ({ stdout }) => {
      for (const flow of ['relay http', 'relay ws', 'password login', 'qr login', 'events long poll A', 'events long poll B']) {
        expect(stdout).toMatch(new RegExp(`${flow} \\d+`))
      }
      expect(stdout).toContain('Unexpected non-2xx answers: none')
      expect(stdout).toContain('Failed flows: none')
      expect(stdout).toContain('Verdict: PASS')
    },
  )
})
