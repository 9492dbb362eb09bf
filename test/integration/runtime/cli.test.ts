/**
 * The operator CLI (`node --import tsx src/runtime/cli.ts`) on the embedded SQLite store: add, list
 * and disable users, with the same password policy as the server, and clear exit codes.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { openSqlite, sqliteStore } from '../../../src/adapters/durable/sqlite.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-cli-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const cli = (args: string[], input = '') => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('QRELAY_')) env[k] = v
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/runtime/cli.ts', ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...env, QRELAY_DATA_DIR: dataDir, QRELAY_ARGON2_MEMORY_KIB: '64', QRELAY_ARGON2_ITERATIONS: '1' },
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe('qrelay CLI', () => {
  it('adds, lists and disables users, refusing weak passwords and taken names', () => {
    const added = cli(['user', 'add', 'alice', '--password-stdin'], 'correct horse battery staple\n')
    expect(added, added.stderr).toMatchObject({ code: 0, stdout: 'created alice\n' })
    expect(cli(['user', 'add', 'ALICE', '--password-stdin'], 'another long passphrase\n').code).toBe(1)
    const weak = cli(['user', 'add', 'bob', '--password-stdin'], 'password\n')
    expect(weak.code).toBe(1)
    expect(weak.stderr).toContain('at least 10 characters')
    expect(cli(['user', 'list']).stdout).toBe('alice\tactive\t-\n')
    expect(cli(['user', 'disable', 'alice'])).toMatchObject({ code: 0 })
    expect(cli(['user', 'list']).stdout).toBe('alice\tdisabled\t-\n')
    expect(cli(['user', 'disable', 'nobody']).code).toBe(1)
    expect(cli(['user']).code).toBe(2)
    expect(cli(['user', 'add', 'x', '--bogus']).code).toBe(2)
  }, 60_000)

  it('stores an argon2id hash, never the password', async () => {
    const db = openSqlite(dataDir)
    const store = sqliteStore({ db, clock: fakeClock() })
    const account = await store.accounts.findByUsername('alice')
    db.close()
    expect(account?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=64,t=1,p=1\$/)
    expect(JSON.stringify(account)).not.toContain('correct horse')
  })
})
