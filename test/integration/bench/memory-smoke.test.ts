/**
 * The fast version of the memory benchmark (`bench/memory/run.ts --smoke`): every abuse scenario runs
 * with tiny counts against a real qrelay process and reports its RSS and heap readings.
 */
import { describe, expect, it } from 'vitest'
import { runSmoke } from './run-bench.ts'

describe('bench:memory smoke', () => {
  it('runs every abuse scenario against a real server and reports the readings', { timeout: 180_000 }, async () => {
    const { code, stdout, stderr } = await runSmoke('bench/memory/run.ts', 170_000)
    expect(code, stderr).toBe(0)
    for (const scenario of ['made-up ids', 'channels created and abandoned', 'idle WebSockets', 'slow clients']) {
      expect(stdout).toMatch(new RegExp(`\\| ${scenario} \\| qrelay \\|`))
    }
    expect(stdout).toContain('404 ×500')
    expect(stdout).toContain('welcome ×100')
    expect(stdout).toContain('Ceilings met.')
  })
})
