import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Database from 'libsql'
import { afterAll } from 'vitest'
import { openSqlite, sqliteStore } from '../../../src/adapters/durable/sqlite.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { describeAccountFlow } from './flow-suite.ts'

const root = mkdtempSync(join(tmpdir(), 'qrelay-accounts-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let serial = 0

describeAccountFlow('sqlite', async (env) => {
  let db: Database.Database | undefined
  const t = makeApp({
    env,
    clock: fakeClock(Date.now()),
    durable: (clock) => {
      db = openSqlite(join(root, `db-${serial++}`))
      return sqliteStore({ db, clock })
    },
  })
  return { t, close: async () => void (await t.store.close(), db?.close()) }
})
