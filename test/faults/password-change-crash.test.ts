/**
 * Fault: a process cut in the middle of a password change (finding 43), two processes on shared
 * stores: memory, and a SQLite file each process opens on its own connection (the suite is in
 * password-change-crash-suite.ts; on Redis in password-change-crash.redis.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { memoryDurableStore } from '../../src/adapters/durable/memory.ts'
import { memoryWebhookOutbox } from '../../src/adapters/durable/memory-webhook-outbox.ts'
import { openSqlite, sqliteStore } from '../../src/adapters/durable/sqlite.ts'
import { sqliteWebhookOutbox } from '../../src/adapters/durable/sqlite-webhook-outbox.ts'
import { memoryStore } from '../../src/adapters/storage/memory.ts'
import type { DurableStore, EphemeralStore } from '../../src/ports.ts'
import type { FakeClock } from '../helpers/fake-clock.ts'
import { describePasswordChangeCrash } from './password-change-crash-suite.ts'

const START = Date.UTC(2026, 10, 22)

/** One ephemeral store per run, made at the first app's build and shared by the second. */
const sharedEphemeral = () => {
  let store: EphemeralStore | undefined
  return (clock: FakeClock): EphemeralStore => (store ??= memoryStore({ clock, sweepIntervalMs: 0 }))
}

describePasswordChangeCrash('memory', () => {
  let durable: DurableStore | undefined
  const shared = (clock: FakeClock): DurableStore => (durable ??= memoryDurableStore({ clock }))
  const outbox = memoryWebhookOutbox()
  return {
    store: sharedEphemeral(),
    durable: shared,
    forA: () => ({ durable: shared, kill: () => {} }),
    outbox: () => outbox,
    startMs: START,
  }
})

const roots: string[] = []
const dbs: Array<{ close(): void }> = []
afterAll(() => {
  for (const db of dbs) db.close()
  for (const root of roots) rmSync(root, { recursive: true, force: true })
})

describePasswordChangeCrash('SQLite', () => {
  const root = mkdtempSync(join(tmpdir(), 'qrelay-password-crash-'))
  roots.push(root)
  const open = () => {
    const db = openSqlite(root)
    dbs.push(db)
    return db
  }
  const onItsOwnConnection = (clock: FakeClock): DurableStore => sqliteStore({ db: open(), clock })
  return {
    store: sharedEphemeral(),
    durable: onItsOwnConnection,
    forA: () => ({ durable: onItsOwnConnection, kill: () => {} }),
    outbox: () => sqliteWebhookOutbox({ db: open() }),
    startMs: START,
  }
})
