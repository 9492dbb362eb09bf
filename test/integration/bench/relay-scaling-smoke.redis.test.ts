/**
 * The fast version of the scaling benchmark (`bench/relay/scaling.ts --smoke`): one short round of the
 * relay cycle against one and two qrelay processes on a redis-server of its own (and one process at
 * the connections each of the two gets), every answer a 200, and the table printed.
 */
import { describe, expect } from 'vitest'
import { hasTools, smokeTest } from './run-bench.ts'

describe.skipIf(!hasTools('redis-server'))('bench relay scaling smoke', () => {
  smokeTest(
    'runs the relay cycle on one and two processes sharing Redis and reports per-request costs',
    'bench/relay/scaling.ts',
    180_000,
    ({ stdout }) => {
      expect(stdout).toContain('| 1 proc |')
      expect(stdout).toContain('| 2 proc |')
      expect(stdout).toContain('| 1 proc 2 conn |')
      expect(stdout).toContain('non-2xx answers, errors and timeouts: 0')
    },
  )
})
