/**
 * The fast version of the login cost benchmark (`bench/login/run.ts --smoke`): two password logins
 * through the real server against argon2id verification at its cheapest. Only that it runs, every
 * login answers 200 and it reports: its figures mean nothing.
 */
import { describe, expect } from 'vitest'
import { smokeTest } from './run-bench.ts'

describe('bench:login smoke', () => {
  smokeTest('signs in through HTTP and verifies with argon2id, then reports the ratio', 'bench/login/run.ts', 60_000, ({ stdout }) => {
    expect(stdout).toContain('| argon2id verification alone |')
    expect(stdout).toContain('| password login through HTTP')
    expect(stdout).toContain('| ratio login / argon2id |')
  })
})
