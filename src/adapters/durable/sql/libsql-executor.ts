/**
 * {@link SqlExecutor} over a libsql database (the Node file). Statements are prepared once and kept;
 * a transaction is `BEGIN IMMEDIATE`, so the write lock is taken before the first read and two
 * processes on one file never both read and then both write.
 */
import type Database from 'libsql'
import type { Query, SqlExecutor } from './executor.ts'

/**
 * Runs the durable store's statements on `db`.
 *
 * @example
 * const sql = libsqlExecutor(openSqlite(dataDir))
 * sql.transaction(() => sql.run(query('DELETE FROM access_tokens WHERE expires_at_ms <= ?', now)))
 */
export const libsqlExecutor = (db: Database.Database): SqlExecutor => {
  const prepared = new Map<string, Database.Statement>()
  const statement = ({ sql }: Query): Database.Statement => {
    let found = prepared.get(sql)
    if (found === undefined) {
      found = db.prepare(sql)
      prepared.set(sql, found)
    }
    return found
  }
  return {
    run: (q) => statement(q).run(...q.args).changes,
    get: <Row>(q: Query) => statement(q).get(...q.args) as Row | undefined,
    all: <Row>(q: Query) => statement(q).all(...q.args) as Row[],
    transaction: <R>(fn: () => R): R => db.transaction(fn).immediate() as R,
  }
}
