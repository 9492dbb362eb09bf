/**
 * Waiting for another connection's SQLite lock without stalling the process. libsql is synchronous:
 * with a long `busy_timeout` a write that meets another process's transaction (or an operator's
 * sqlite3 shell) would block the event loop, and every other request with it, for the whole wait.
 * Instead each try waits at most {@link SQLITE_BUSY_WAIT_MS} synchronously, and a busy write is tried
 * again after an asynchronous pause, until {@link SQLITE_BUSY_TIMEOUT_MS} have passed; then the
 * SQLITE_BUSY error goes up (the app answers 503 with Retry-After).
 *
 * @see https://www.sqlite.org/rescode.html#busy
 */
import type Database from 'libsql'
import { migrate } from './sqlite-migrations.ts'

/** How long a write keeps trying against another connection's lock before failing with SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000

/** The synchronous wait of one try (`PRAGMA busy_timeout`): the longest the process stalls at once. */
export const SQLITE_BUSY_WAIT_MS = 50

/** True for SQLite's "another connection holds the lock" errors (a later try may succeed). */
export const isSqliteBusy = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code)
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Wraps a synchronous SQLite write: busy tries are repeated after 5, 10, 20 … 100 ms pauses until the
 * bound has passed. `fn` must be safe to run again after a busy failure (one statement, or one
 * transaction, which SQLite rolled back).
 *
 * @example
 * const rename = retryWhileBusy((id: string, name: string) => q.rename.run(name, id).changes === 1)
 */
export const retryWhileBusy =
  <A extends unknown[], R>(fn: (...args: A) => R, boundMs = SQLITE_BUSY_TIMEOUT_MS) =>
  async (...args: A): Promise<R> => {
    const deadline = performance.now() + boundMs
    for (let attempt = 0; ; attempt++) {
      try {
        return fn(...args)
      } catch (error) {
        if (!isSqliteBusy(error) || performance.now() >= deadline) throw error
        await pause(Math.min(5 * 2 ** attempt, 100))
      }
    }
  }

/** Migrates `db` at start-up, where a blocking wait is fine: up to the whole bound for the lock. */
export const migrateWaiting = (db: Database.Database): void => {
  db.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`)
  try {
    migrate(db)
  } finally {
    db.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_WAIT_MS}`)
  }
}
