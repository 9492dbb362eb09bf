/**
 * The seam between the SQL of the durable store and a SQLite driver. The statements and the rules
 * over them (`./statements.ts`, `./account-sql.ts`) run on either side through this interface: libsql
 * in the Node process (`./libsql-executor.ts`) and the account Durable Object's storage
 * (`./object-executor.ts`). Every call is synchronous, so an intent never yields mid-way.
 */

/** One statement with its positional (`?`) arguments: the one binding style both drivers share. */
export interface Query {
  sql: string
  args: unknown[]
}

/** Builds a {@link Query}. */
export const query = (sql: string, ...args: unknown[]): Query => ({ sql, args })

/** Runs statements on one SQLite database, synchronously. */
export interface SqlExecutor {
  /** Runs a write (INSERT, UPDATE, DELETE without RETURNING); returns how many rows it changed. */
  run(q: Query): number
  /** The first row of a read (or of a write's RETURNING), or undefined. */
  get<Row>(q: Query): Row | undefined
  /** Every row of a read (or of a write's RETURNING). */
  all<Row>(q: Query): Row[]
  /** Runs `fn` as one transaction: its writes land together or not at all. */
  transaction<R>(fn: () => R): R
}
