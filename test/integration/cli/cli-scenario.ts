/**
 * One operator session with the real `qrelay` CLI (child processes) against a backend's stores: the
 * account, device, key, network and event commands each say what they changed, and the security
 * events of CLI commands land in the account's feed AND in the webhook outbox (the CLI builds its
 * services with the server's compose()). Run on SQLite (`sqlite-scenario.test.ts`) and on a real
 * Redis (`cli.redis.test.ts`).
 */
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { fileKeyStore, signingKeyPath } from '../../../src/adapters/keys/file-keystore.ts'
import { cryptoRandom, systemClock } from '../../../src/adapters/platform/node.ts'
import type { DurableStore, WebhookOutbox } from '../../../src/ports.ts'
import { openSigningKeys } from '../../../src/services/signing-keys.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { hashOf, newDevice } from '../durable/fixtures.ts'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'

/** The stores of one backend, opened by the test to seed and inspect what the CLI did. */
export interface ScenarioStores {
  durable: DurableStore
  outbox: WebhookOutbox
  close(): Promise<void>
}

/** A backend: its QRELAY_* variables (a fresh data directory included) and how to open its stores. */
export interface ScenarioBackend {
  env: Record<string, string>
  dataDir: string
  open(): Promise<ScenarioStores>
}

/** Runs the CLI with `args` in a clean environment plus `env`. */
export const runCli = (env: Record<string, string>, args: string[], input = '') => {
  const base: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('QRELAY_')) base[k] = v
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/runtime/cli.ts', ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...base, QRELAY_ARGON2_MEMORY_KIB: '64', QRELAY_ARGON2_ITERATIONS: '1', ...env },
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** {@link runCli} without blocking this process (for a server running in it). */
export const runCliAsync = (
  env: Record<string, string>,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const base: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('QRELAY_')) base[k] = v
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/runtime/cli.ts', ...args], {
      cwd: ROOT,
      timeout: 90_000,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })

const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)

/** The scenario, as one `describe` of ordered steps. */
export const describeCliScenario = (name: string, make: () => ScenarioBackend): void => {
  describe(`qrelay CLI session: ${name}`, () => {
    const backend = make()
    const env = { ...backend.env, QRELAY_WEBHOOK_URL: 'http://127.0.0.1:9/hooks', QRELAY_WEBHOOK_SECRET: WEBHOOK_SECRET }
    const cli = (args: string[], input = '') => runCli(env, args, input)

    it('changes accounts and devices, saying what it did; the events reach the feed and the webhook outbox', async () => {
      expect(cli(['user', 'add', 'alice', '--password-stdin'], 'correct horse battery staple\n')).toMatchObject({
        code: 0,
        stdout: 'created alice\n',
      })
      const seed = await backend.open()
      const account = await seed.durable.accounts.findByUsername('alice')
      if (account === null) throw new Error('alice was not created')
      const device = newDevice(fakeClock(Date.now()), account.id, { displayName: 'Laptop' })
      expect(await seed.durable.devices.create(device)).toBe('ok')
      await seed.durable.credentials.replaceRecoveryCodes(account.id, [hashOf('r1'), hashOf('r2')])
      await seed.close()

      expect(JSON.parse(cli(['device', 'list', 'alice', '--json']).stdout)).toEqual([{ id: device.id, name: 'Laptop', origin: 'password' }])
      expect(cli(['device', 'revoke', 'alice', device.id])).toMatchObject({ code: 0, stdout: `revoked device ${device.id} of alice\n` })
      expect(cli(['device', 'revoke', 'alice', device.id]).code).toBe(1)
      expect(cli(['user', 'disable', 'alice']).stdout).toBe('disabled user alice; every device signed out\n')
      expect(cli(['user', 'reset-2fa', 'alice']).stdout).toBe('removed the second factor of alice and 2 recovery code(s)\n')
      expect(JSON.parse(cli(['user', 'list', '--json']).stdout)).toMatchObject([
        { username: 'alice', status: 'disabled', twoFactor: 'none' },
      ])

      const types = ['device_revoked', 'account_disabled', 'totp_disabled']
      const check = await backend.open()
      try {
        expect((await check.durable.security.readEvents(account.id, 0, 10)).map((e) => e.type)).toEqual(types)
        expect(await check.durable.credentials.countRecoveryCodes(account.id)).toBe(0)
        expect(await check.outbox.counts()).toEqual({ pending: 3, dead: 0 })
        // One account's messages go out one at a time, oldest first: deliver each to see the next.
        const bodies: Array<{ type: string; data: { account_id: string } }> = []
        for (let round = 0; round < 5; round++) {
          const [message] = await check.outbox.claimDue(Date.now() + 60_000, 10, 1_000)
          if (message === undefined) break
          bodies.push(JSON.parse(message.body) as { type: string; data: { account_id: string } })
          await check.outbox.complete(message.id)
        }
        expect(bodies.map((b) => b.type)).toEqual(types.map((t) => `security.${t}`))
        expect(bodies.every((b) => b.data.account_id === account.id)).toBe(true)
      } finally {
        await check.close()
      }
    }, 300_000)

    it('tails the security events, once or following for a bounded time', () => {
      const once = cli(['events', 'tail', '--account', 'alice', '--json'])
      expect(once.code).toBe(0)
      expect(jsonLines(once.stdout).map((e) => e.type)).toEqual(['device_revoked', 'account_disabled', 'totp_disabled'])
      const all = cli(['events', 'tail'])
      expect(all.stdout.split('\n').filter((l) => l !== '')).toHaveLength(3)
      expect(all.stdout).toMatch(/\talice\taccount_disabled\t-\tby=operator\n/)
      const started = Date.now()
      const followed = cli(['events', 'tail', '--account', 'alice', '--follow', '--interval', '200', '--for', '1'])
      expect(followed.code).toBe(0)
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000)
      expect(followed.stdout.split('\n').filter((l) => l !== '')).toHaveLength(3)
      expect(cli(['events', 'tail', '--account', 'nobody']).code).toBe(1)
    }, 180_000)

    it('rotates the signing keys, keeps the old one published until it is retired, and refuses to retire the active one', async () => {
      const opened = await openSigningKeys({
        store: fileKeyStore(signingKeyPath(backend.dataDir)),
        clock: systemClock,
        random: cryptoRandom,
        retiredKeyTtlMs: 86_400_000,
      })
      const first = opened.current().kid
      expect(JSON.parse(cli(['keys', 'list', '--json']).stdout)).toMatchObject([{ kid: first, state: 'active' }])
      const rotated = cli(['keys', 'rotate'])
      expect(rotated.stdout).toMatch(new RegExp(`^rotated: \\S+ signs now; ${first} stays published until retired`))
      const listed = JSON.parse(cli(['keys', 'list', '--json']).stdout) as Array<{ kid: string; state: string }>
      expect(listed.map((k) => k.state)).toEqual(['active', 'published'])
      const active = listed[0]?.kid as string
      await opened.reload()
      expect(opened.publicJwks().keys.map((k) => k.kid)).toEqual([active, first])
      const refused = cli(['keys', 'retire', active])
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain('is the active key')
      expect(cli(['keys', 'retire', first]).stdout).toBe(`retired ${first}: no longer published; tickets it signed stop verifying\n`)
      await opened.reload()
      expect(opened.publicJwks().keys.map((k) => k.kid)).toEqual([active])
    }, 180_000)
  })
}
