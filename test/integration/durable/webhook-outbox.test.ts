import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { memoryWebhookOutbox } from '../../../src/adapters/durable/memory-webhook-outbox.ts'
import { openSqlite } from '../../../src/adapters/durable/sqlite.ts'
import { sqliteWebhookOutbox } from '../../../src/adapters/durable/sqlite-webhook-outbox.ts'
import { describeWebhookOutbox } from './webhook-outbox-suite.ts'

const root = mkdtempSync(join(tmpdir(), 'qrelay-outbox-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let serial = 0

describeWebhookOutbox('memory', () => {
  const outbox = memoryWebhookOutbox()
  return { a: outbox, b: outbox, close: async () => {} }
})

describeWebhookOutbox('sqlite', () => {
  const dir = join(root, `db-${serial++}`)
  const [dbA, dbB] = [openSqlite(dir), openSqlite(dir)]
  return {
    a: sqliteWebhookOutbox({ db: dbA }),
    b: sqliteWebhookOutbox({ db: dbB }),
    close: async () => {
      dbA.close()
      dbB.close()
    },
  }
})
