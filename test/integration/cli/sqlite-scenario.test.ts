/** The operator CLI session (./cli-scenario.ts) on SQLite, plus what only the memory store says. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { sqliteWebhookOutbox } from '../../../src/adapters/durable/sqlite-webhook-outbox.ts'
import { openSqlite, sqliteStore } from '../../../src/adapters/durable/sqlite.ts'
import { systemClock } from '../../../src/adapters/platform/node.ts'
import { describeCliScenario, runCli } from './cli-scenario.ts'

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

describe('qrelay network with the memory store', () => {
  it('says that the blocks live in the running server, and where to reach them (exit 2)', () => {
    const result = runCli({ QRELAY_DATA_DIR: dataDir }, ['network', 'blocks'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('GET /v1/admin/abuse/blocks')
    expect(runCli({ QRELAY_DATA_DIR: dataDir }, ['network', 'unblock', 'not a network']).code).toBe(2)
  }, 90_000)
})
