/**
 * The commander-based operator CLI as a child process against a temp SQLite file: help and version,
 * config check with a typo, user mutations that say what changed, and exit codes.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { openSqlite, sqliteStore } from '../../../src/adapters/durable/sqlite.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-cli2-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const cli = (args: string[], input = '', extra: Record<string, string> = {}) => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('QRELAY_')) env[k] = v
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/runtime/cli.ts', ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...env, QRELAY_DATA_DIR: dataDir, QRELAY_ARGON2_MEMORY_KIB: '64', QRELAY_ARGON2_ITERATIONS: '1', ...extra },
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe('qrelay CLI (commander)', () => {
  it('--help and --version exit 0', () => {
    expect(cli(['--help'])).toMatchObject({ code: 0 })
    expect(cli(['--version']).stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
    expect(cli(['user', '--help']).stdout).toContain('reset-2fa')
    const unknown = cli(['usr', 'list'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('(Did you mean user?)')
    // A kid or device id is base64url and may begin with '-': the command reads it as its operand.
    const dashed = cli(['keys', 'retire', '-SJROe-cYXs'])
    expect(dashed.code).toBe(1)
    expect(dashed.stderr).not.toContain('unknown option')
    expect(dashed.stderr).toContain('no signing keys yet')
  }, 60_000)

  it('config check suggests the nearest name for a typo and exits 2; a clean env file exits 0', () => {
    const typo = cli(['config', 'check'], '', { QRELAY_ADMN_TOKEN: 'x'.repeat(40) })
    expect(typo.code).toBe(2)
    expect(typo.stderr).toContain('did you mean QRELAY_ADMIN_TOKEN?')
    const file = join(dataDir, 'ok.env')
    writeFileSync(file, '# comment\nQRELAY_PORT="8081"\n')
    expect(cli(['config', 'check', '--env-file', file])).toMatchObject({ code: 0 })
    const shown = cli(['config', 'show', '--env-file', file, '--json'])
    expect(JSON.parse(shown.stdout).QRELAY_PORT).toBe('8081')
  }, 60_000)

  it('says what each mutation changed, and refuses unknown users with 1', async () => {
    expect(cli(['user', 'add', 'carol', '--password-stdin'], 'correct horse battery staple\n').stdout).toBe('created carol\n')
    expect(cli(['user', 'disable', 'carol']).stdout).toBe('disabled user carol; every device signed out\n')
    expect(JSON.parse(cli(['user', 'show', 'carol', '--json']).stdout)).toMatchObject({ status: 'disabled' })
    expect(cli(['user', 'enable', 'carol']).stdout).toBe('enabled user carol\n')
    const set = cli(['user', 'set-password', 'carol', '--password-stdin'], 'another long passphrase\n')
    expect(set.stdout).toBe('set the password of carol; 0 device(s) signed out\n')
    expect(cli(['user', 'reset-2fa', 'carol']).stdout).toBe('removed the second factor of carol and 0 recovery code(s)\n')
    expect(JSON.parse(cli(['device', 'list', 'carol', '--json']).stdout)).toEqual([])
    expect(cli(['user', 'show', 'nobody']).code).toBe(1)
    const db = openSqlite(dataDir)
    const store = sqliteStore({ db, clock: fakeClock() })
    const account = await store.accounts.findByUsername('carol')
    const feed = account === null ? [] : await store.security.readEvents(account.id, 0, 10)
    db.close()
    expect(account?.status).toBe('active')
    expect(feed.map((e) => e.type)).toEqual(['account_disabled', 'account_enabled', 'password_changed', 'totp_disabled'])
    // Every operator action says so in the owner's feed, the password set by the operator included.
    expect(feed.map((e) => e.details?.by)).toEqual(['operator', 'operator', 'operator', 'operator'])
  }, 90_000)
})
