/**
 * The fast version of the memory benchmark (`bench/memory/run.ts --smoke`): every abuse scenario runs
 * with tiny counts against a real qrelay process and reports its RSS and heap readings.
 */
import { describe, expect } from 'vitest'
import { smokeTest } from './run-bench.ts'

describe('bench:memory smoke', () => {
  smokeTest('runs every abuse scenario against a real server and reports the readings', 'bench/memory/run.ts', 180_000, ({ stdout }) => {
    for (const scenario of ['made-up ids', 'channels created and abandoned', 'idle WebSockets', 'slow clients']) {
      expect(stdout).toMatch(new RegExp(`\\| ${scenario} \\| qrelay \\|`))
    }
    expect(stdout).toContain('404 ×500')
    expect(stdout).toContain('welcome ×100')
    expect(stdout).toContain('Ceilings met.')
  })
})
