import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, it } from 'vitest'
import { webhookRestartScenario } from './webhooks-restart-scenario.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-webhooks-restart-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe('webhooks across a restart (SQLite outbox)', () => {
  it('delivers an event recorded while the receiver was down exactly once, signed, after a restart', async () => {
    await webhookRestartScenario({ QRELAY_DATA_DIR: dataDir })
  }, 60_000)
})
