/**
 * The fast version of the login cost benchmark (`bench/login/run.ts --smoke`): two password logins
 * through the real server against argon2id verification at its cheapest. Only that it runs, every
 * login answers 200 and it reports: its figures mean nothing.
 */
import { describe, expect, it } from 'vitest'
import { runSmoke } from './run-bench.ts'

describe('bench:login smoke', () => {
  it('signs in through HTTP and verifies with argon2id, then reports the ratio', { timeout: 60_000 }, async () => {
    const { code, stdout, stderr } = await runSmoke('bench/login/run.ts', 55_000)
    expect(code, `${stdout}\n${stderr}`).toBe(0)
    expect(stdout).toContain('| argon2id verification alone |')
    expect(stdout).toContain('| password login through HTTP')
    expect(stdout).toContain('| ratio login / argon2id |')
  })
})
