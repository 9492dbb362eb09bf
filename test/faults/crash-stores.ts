/**
 * The shared stores of the crash suites (./password-change-crash-suite.ts, ./not-me-crash-suite.ts):
 * two processes, A (the one cut) and B, on memory, or on one SQLite file each opens on its own
 * connection (Redis: ./crash-stores-redis.ts).
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

/** The shared stores of one run; `forA` gives process A's own connections and ends them at a kill. */
export interface CrashRunStores {
  store: (clock: FakeClock) => EphemeralStore
  durable: (clock: FakeClock) => DurableStore
  forA: () => { durable: (clock: FakeClock) => DurableStore; kill(): void }
  /** Each call: the run's webhook outbox, on a connection of its own (memory: the same object). */
  outbox: () => WebhookOutbox
  startMs: number
}

const START = Date.UTC(2026, 10, 22)

/** One ephemeral store per run, made at the first app's build and shared by the second. */
const sharedEphemeral = () => {
  let store: EphemeralStore | undefined
  return (clock: FakeClock): EphemeralStore => (store ??= memoryStore({ clock, sweepIntervalMs: 0 }))
}

/** A run's stores in memory (both processes share the objects). */
export const memoryRun = (): CrashRunStores => {
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
}

/** Runs on a fresh SQLite file each; call at a test file's top level (its files go after the file's tests). */
export const sqliteRuns = (prefix: string): (() => CrashRunStores) => {
  const roots: string[] = []
  const dbs: Array<{ close(): void }> = []
  afterAll(() => {
    for (const db of dbs) db.close()
    for (const root of roots) rmSync(root, { recursive: true, force: true })
  })
  return () => {
    const root = mkdtempSync(join(tmpdir(), prefix))
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
  }
}
