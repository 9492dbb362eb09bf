/** The operator CLI session (./cli-scenario.ts) on SQLite, and the network commands through a running server. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { sqliteWebhookOutbox } from '../../../src/adapters/durable/sqlite-webhook-outbox.ts'
import { openSqlite, sqliteStore } from '../../../src/adapters/durable/sqlite.ts'
import { systemClock } from '../../../src/adapters/platform/node.ts'
import { parseConfig } from '../../../src/config.ts'
import { startNodeServer } from '../../../src/runtime/node-server.ts'
import { ADMIN_TOKEN } from '../accounts/flow-suite.ts'
import { describeCliScenario, runCliAsync } from './cli-scenario.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-cli-session-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describeCliScenario('sqlite', () => ({
  env: { QRELAY_DATA_DIR: dataDir },
  dataDir,
  async open() {
    const db = openSqlite(dataDir)
    return { durable: sqliteStore({ db, clock: systemClock }), outbox: sqliteWebhookOutbox({ db }), close: async () => void db.close() }
  },
}))

describe('qrelay network with the memory store: through the running server', () => {
  it('asks the server the configuration names, with the admin token; says when there is none to ask', async () => {
    const server = await startNodeServer(
      parseConfig({ QRELAY_PORT: '0', QRELAY_DATA_DIR: dataDir, QRELAY_ADMIN_TOKEN: ADMIN_TOKEN, QRELAY_LOG_LEVEL: 'silent' }),
    )
    const env = { QRELAY_DATA_DIR: dataDir, QRELAY_ADMIN_TOKEN: ADMIN_TOKEN, QRELAY_PORT: String(server.port) }
    try {
      expect(await runCliAsync(env, ['network', 'blocks'])).toMatchObject({ code: 0, stdout: 'no network is blocked\n' })
      const unblocked = await runCliAsync(env, ['network', 'unblock', '203.0.113.7'])
      expect(unblocked.stdout).toBe('203.0.113.7 was not blocked for everybody; any per-account "not me" denials of it are lifted\n')
      const wrong = await runCliAsync({ ...env, QRELAY_ADMIN_TOKEN: `${ADMIN_TOKEN}x` }, ['network', 'blocks', '--server', server.url])
      expect(wrong.code).toBe(1)
      expect(wrong.stderr).toContain('refused: 401')
      expect((await runCliAsync({ QRELAY_DATA_DIR: dataDir }, ['network', 'blocks'])).code).toBe(2)
      expect((await runCliAsync(env, ['network', 'unblock', 'not a network'])).code).toBe(2)
    } finally {
      await server.stop()
    }
    const gone = await runCliAsync(env, ['network', 'blocks'])
    expect(gone.code).toBe(1)
    expect(gone.stderr).toContain('no qrelay server answers at http://127.0.0.1:')
  }, 180_000)
})
