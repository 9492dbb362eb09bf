/**
 * Fault: a process killed inside the device-code redemption, two processes on shared stores: memory
 * (both durable and ephemeral), and a SQLite file each process opens on its own connection (the
 * suite is in redemption-crash-suite.ts; on Redis in redemption-crash.redis.test.ts).
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
import type { DurableStore, EphemeralStore, WebhookOutbox } from '../../src/ports.ts'
import type { FakeClock } from '../helpers/fake-clock.ts'
import { describeRedemptionCrash } from './redemption-crash-suite.ts'

const START = Date.UTC(2026, 10, 22)

/** One ephemeral store per run, made at the first app's build and shared by the second. */
const sharedEphemeral = () => {
  let store: EphemeralStore | undefined
  return (clock: FakeClock): EphemeralStore => (store ??= memoryStore({ clock, sweepIntervalMs: 0 }))
}

describeRedemptionCrash('memory', () => {
  let durable: DurableStore | undefined
  const stores = { store: sharedEphemeral(), durable: (clock: FakeClock): DurableStore => (durable ??= memoryDurableStore({ clock })) }
  const outbox = memoryWebhookOutbox()
  return { ...stores, forA: () => ({ ...stores, kill: () => {} }), outbox: () => outbox, startMs: START }
})

const roots: string[] = []
const dbs: Array<{ close(): void }> = []
afterAll(() => {
  for (const db of dbs) db.close()
  for (const root of roots) rmSync(root, { recursive: true, force: true })
})

describeRedemptionCrash('SQLite', () => {
  const root = mkdtempSync(join(tmpdir(), 'qrelay-redeem-crash-'))
  roots.push(root)
  const store = sharedEphemeral()
  const onItsOwnConnection = (clock: FakeClock): DurableStore => {
    const db = openSqlite(root)
    dbs.push(db)
    return sqliteStore({ db, clock })
  }
  const outbox = (): WebhookOutbox => {
    const db = openSqlite(root)
    dbs.push(db)
    return sqliteWebhookOutbox({ db })
  }
  return {
    store,
    durable: onItsOwnConnection,
    forA: () => ({ store, durable: onItsOwnConnection, kill: () => {} }),
    outbox,
    startMs: START,
  }
})
