import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe } from 'vitest'
import { memoryWebhookOutbox } from '../../src/adapters/durable/memory-webhook-outbox.ts'
import { openSqlite } from '../../src/adapters/durable/sqlite.ts'
import { sqliteWebhookOutbox } from '../../src/adapters/durable/sqlite-webhook-outbox.ts'
import { webhookOutageScenario } from './webhooks-outage-suite.ts'

const root = mkdtempSync(join(tmpdir(), 'qrelay-faults-outbox-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('faults: webhook receiver down for an hour, qrelay restarted mid-delivery', () => {
  webhookOutageScenario('memory', async () => {
    const outbox = memoryWebhookOutbox()
    return { outbox, reopen: async () => outbox, close: async () => {} }
  })
  webhookOutageScenario('sqlite', async () => {
    const dbs = [openSqlite(root)]
    return {
      outbox: sqliteWebhookOutbox({ db: dbs[0]! }),
      // A new process: a new connection to the same file.
      reopen: async () => {
        const db = openSqlite(root)
        dbs.push(db)
        return sqliteWebhookOutbox({ db })
      },
      close: async () => {
        for (const db of dbs) db.close()
      },
    }
  })
})
