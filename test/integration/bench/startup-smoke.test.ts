/**
 * The fast version of the startup benchmark (`bench/startup/run.ts --smoke`): the bundle built, then
 * one start of qrelay as `npm start` runs it and one of a bare `node:http` server, each until its first
 * 200. Only that both become ready and it reports: its figures mean nothing.
 */
import { describe, expect } from 'vitest'
import { smokeTest } from './run-bench.ts'

describe('bench:startup smoke', () => {
  smokeTest(
    'builds, starts qrelay and the bare server until ready, and reports both',
    'bench/startup/run.ts',
    120_000,
    ({ stdout }) => {
      expect(stdout).toContain('bare node:http  median')
      expect(stdout).toContain('qrelay          median')
      expect(stdout).toContain('ratio qrelay ÷ bare:')
    },
    { buildsDist: true },
  )
})
