/**
 * The fast version of the relay benchmark (`bench/relay/run.ts --smoke`): one short round of the
 * login cycle against the bare baseline, the Hono floor and qrelay on the memory store (log silent and
 * info), every answer a 200, and the report table printed.
 */
import { describe, expect } from 'vitest'
import { smokeTest } from './run-bench.ts'

describe('bench:relay smoke', () => {
  smokeTest('runs the login cycle against every memory target and reports the ratios', 'bench/relay/run.ts', 180_000, ({ stdout }) => {
    for (const target of [
      'bare node:http + Map',
      'Hono + node-server + Map',
      'qrelay, memory store, log silent',
      'qrelay, memory store, log info',
    ]) {
      expect(stdout).toContain(`| ${target}`)
    }
    expect(stdout).toContain('req per server CPU-s')
  })
})
