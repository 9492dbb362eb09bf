/**
 * {@link SqlExecutor} over a Durable Object's SQLite storage (`ctx.storage`). Typed structurally, so
 * this file also type-checks outside the Workers build.
 *
 * @see https://developers.cloudflare.com/durable-objects/api/storage-api/#sql-api
 */
import type { Query, SqlExecutor } from './executor.ts'

/** The part of a Durable Object's `ctx.storage` the executor uses. */
export interface ObjectSqlStorage {
  sql: { exec(query: string, ...bindings: unknown[]): { toArray(): unknown[] } }
  transactionSync<R>(fn: () => R): R
}

/**
 * Runs the durable store's statements on an object's storage. A write's changed-row count comes from
 * `RETURNING 1` (the cursor's `rowsWritten` also counts index rows).
 *
 * @example
 * const sql = objectExecutor(this.ctx.storage)
 */
export const objectExecutor = (storage: ObjectSqlStorage): SqlExecutor => {
  const rows = ({ sql, args }: Query): unknown[] => storage.sql.exec(sql, ...args).toArray()
  return {
    run: (q) => rows({ sql: `${q.sql} RETURNING 1`, args: q.args }).length,
    get: <Row>(q: Query) => rows(q)[0] as Row | undefined,
    all: <Row>(q: Query) => rows(q) as Row[],
    transaction: <R>(fn: () => R): R => storage.transactionSync(fn),
  }
}
