/**
 * A shard Durable Object (named `shard:<n>`): rate counters, small TTL values (UIA sessions, lockout
 * marks) and live-channel reservations, in the object's SQLite storage. Keys hash to shards, so no one
 * object carries every client. Each method is one atomic intent (synchronous SQL inside one event).
 * Expiry is judged against the caller's clock (`nowMs`); an alarm only frees expired rows, in batches.
 */
import { DurableObject } from 'cloudflare:workers'
import type { CounterObjectApi, ReserveOutcome } from '../adapters/storage/durable-object.ts'
import type { ReplaceOutcome, WindowBudget, WindowCounts, WindowReservation } from '../ports.ts'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS counters_expiry ON counters (expires_at_ms);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_at_ms);
CREATE TABLE IF NOT EXISTS live (id TEXT PRIMARY KEY, expires_at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS live_expiry ON live (expires_at_ms);`
const TABLES = ['counters', 'kv', 'live'] as const

// Expired rows are invisible at once; freeing them waits for this long so one alarm frees many.
const SWEEP_DELAY_MS = 60_000

// A new row at 1, or one more on a live row; an expired row starts again at 1 with a new expiry.
const BUMP = `
INSERT INTO counters (key, value, expires_at_ms) VALUES (?, 1, ?)
ON CONFLICT (key) DO UPDATE SET
  value = CASE WHEN expires_at_ms > ? THEN value + 1 ELSE 1 END,
  expires_at_ms = CASE WHEN expires_at_ms > ? THEN expires_at_ms ELSE excluded.expires_at_ms END
RETURNING value`

/** One shard of counters, values and reservations. */
export class CounterObject extends DurableObject<Env> implements CounterObjectApi {
  #alarmArmed = false

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    ctx.storage.sql.exec(SCHEMA)
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmArmed = (await ctx.storage.getAlarm()) !== null
    })
  }

  #sql(query: string, ...bindings: unknown[]): Record<string, SqlStorageValue>[] {
    return this.ctx.storage.sql.exec(query, ...bindings).toArray()
  }

  async #sweepLater(expiresAtMs: number): Promise<void> {
    if (this.#alarmArmed) return
    this.#alarmArmed = true
    try {
      await this.ctx.storage.setAlarm(expiresAtMs + SWEEP_DELAY_MS)
    } catch (error) {
      // Not armed after all: the next counter tries again (else the shard never swept until made anew).
      this.#alarmArmed = false
      throw error
    }
  }

  #bump(key: string, ttlMs: number, nowMs: number): number {
    return Number(this.#sql(BUMP, key, nowMs + ttlMs, nowMs, nowMs)[0]?.value)
  }

  #counter(key: string, nowMs: number): number {
    const row = this.#sql('SELECT value FROM counters WHERE key = ? AND expires_at_ms > ?', key, nowMs)[0]
    return Number(row?.value ?? 0)
  }

  /**
   * Rows of the `live` table, counted once per object life and then kept by every insert and delete
   * (`rowsWritten`), so a refused reservation at the cap costs O(1), not a count over the table.
   */
  #liveRows: number | undefined

  #liveRowCount(): number {
    this.#liveRows ??= Number(this.#sql('SELECT count(*) AS n FROM live')[0]?.n ?? 0)
    return this.#liveRows
  }

  #deleteLive(query: string, ...bindings: unknown[]): void {
    const removed = this.ctx.storage.sql.exec(query, ...bindings).rowsWritten
    if (this.#liveRows !== undefined) this.#liveRows -= removed
  }

  async reserve(id: string, expiresAtMs: number, nowMs: number, maxLive: number): Promise<ReserveOutcome> {
    if (this.#sql('SELECT 1 FROM live WHERE id = ? AND expires_at_ms > ?', id, nowMs).length > 0) return 'held'
    // Indexed on the expiry: O(log n) plus the rows it frees.
    this.#deleteLive('DELETE FROM live WHERE expires_at_ms <= ?', nowMs)
    if (this.#liveRowCount() >= maxLive) return 'capacity'
    // No live row holds this id (checked above) and expired ones are gone: always a new row.
    this.#sql('INSERT INTO live (id, expires_at_ms) VALUES (?, ?)', id, expiresAtMs)
    this.#liveRows = (this.#liveRows ?? 0) + 1
    await this.#sweepLater(expiresAtMs)
    return 'ok'
  }

  async release(id: string): Promise<void> {
    this.#deleteLive('DELETE FROM live WHERE id = ?', id)
  }

  async liveCount(nowMs: number): Promise<number> {
    return Number(this.#sql('SELECT count(*) AS n FROM live WHERE expires_at_ms > ?', nowMs)[0]?.n)
  }

  async increment(key: string, ttlMs: number, nowMs: number): Promise<number> {
    const value = this.#bump(key, ttlMs, nowMs)
    await this.#sweepLater(nowMs + ttlMs)
    return value
  }

  async read(key: string, nowMs: number): Promise<number> {
    return this.#counter(key, nowMs)
  }

  async hitWindow(key: string, windowIndex: number, ttlMs: number, nowMs: number): Promise<WindowCounts> {
    const current = this.#bump(`${key}:${windowIndex}`, ttlMs, nowMs)
    const previous = this.#counter(`${key}:${windowIndex - 1}`, nowMs)
    await this.#sweepLater(nowMs + ttlMs)
    return { current, previous }
  }

  async reserveWindow(key: string, windowIndex: number, ttlMs: number, budget: WindowBudget, nowMs: number): Promise<WindowReservation> {
    const current = this.#counter(`${key}:${windowIndex}`, nowMs)
    const previous = this.#counter(`${key}:${windowIndex - 1}`, nowMs)
    if (previous * budget.previousWeight + (current + 1) * budget.currentWeight > budget.capacity) {
      return { reserved: false, current, previous }
    }
    const taken = this.#bump(`${key}:${windowIndex}`, ttlMs, nowMs)
    await this.#sweepLater(nowMs + ttlMs)
    return { reserved: true, current: taken, previous }
  }

  async releaseWindow(key: string, windowIndex: number, nowMs: number): Promise<void> {
    this.#sql('UPDATE counters SET value = value - 1 WHERE key = ? AND expires_at_ms > ? AND value > 0', `${key}:${windowIndex}`, nowMs)
  }

  async kvPut(key: string, value: string, expiresAtMs: number): Promise<void> {
    this.#sql('INSERT OR REPLACE INTO kv (key, value, expires_at_ms) VALUES (?, ?, ?)', key, value, expiresAtMs)
    await this.#sweepLater(expiresAtMs)
  }

  async kvRead(key: string, nowMs: number, remove: boolean): Promise<string | null> {
    const row = this.#sql('SELECT value FROM kv WHERE key = ? AND expires_at_ms > ?', key, nowMs)[0]
    if (remove) this.#sql('DELETE FROM kv WHERE key = ?', key)
    return row === undefined ? null : String(row.value)
  }

  async kvReplaceIfMatch(
    key: string,
    expected: string,
    next: string,
    nowMs: number,
    // Defaults for a caller of an older version during a deploy (four arguments: the expiry is kept).
    expiresAtMs: number | null = null,
  ): Promise<ReplaceOutcome> {
    const row = this.#sql('SELECT value FROM kv WHERE key = ? AND expires_at_ms > ?', key, nowMs)[0]
    if (row === undefined) return 'missing'
    if (row.value !== expected) return 'mismatch'
    // A new expiry needs no alarm of its own: the row's first one re-arms for the earliest row left.
    if (expiresAtMs === null) this.#sql('UPDATE kv SET value = ? WHERE key = ?', next, key)
    else this.#sql('UPDATE kv SET value = ?, expires_at_ms = ? WHERE key = ?', next, expiresAtMs, key)
    return 'ok'
  }

  async ping(): Promise<void> {}

  /** Frees rows expired by the object's own clock, then re-arms for the earliest row left. */
  override async alarm(): Promise<void> {
    // It fired: none is armed now, whether or not this sweep completes (a failed one is retried by the runtime).
    this.#alarmArmed = false
    const now = Date.now()
    let earliest = Infinity
    for (const table of TABLES) {
      if (table === 'live') this.#deleteLive('DELETE FROM live WHERE expires_at_ms <= ?', now)
      else this.#sql(`DELETE FROM ${table} WHERE expires_at_ms <= ?`, now)
      const next = this.#sql(`SELECT min(expires_at_ms) AS at FROM ${table}`)[0]?.at
      if (typeof next === 'number') earliest = Math.min(earliest, next)
    }
    if (earliest !== Infinity) await this.#sweepLater(earliest)
  }
}
