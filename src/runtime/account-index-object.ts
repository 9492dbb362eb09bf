/**
 * An index shard of the durable store (named `idx:<n>`): keys that are not account ids (usernames,
 * access-token ids, refresh-family ids) mapped to the account holding them, in the object's SQLite
 * storage. Each method is one atomic intent (synchronous SQL inside one event). Username entries live
 * forever; token and family entries expire with their record (judged by the caller's clock) and an
 * alarm frees them. The design of the whole store is in `src/adapters/durable/durable-object.ts`.
 */
import { DurableObject } from 'cloudflare:workers'
import type { ClaimOutcome, IndexObjectApi } from '../adapters/durable/durable-object-api.ts'

// The one table of the index has no counterpart in the Node SQLite file: there one set of tables
// holds every account, so a username is a UNIQUE column and token and family ids are primary keys
// (`src/adapters/durable/sql/schema.ts`). Accounts split over objects need this look-up instead.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  key TEXT PRIMARY KEY, account_id TEXT NOT NULL, confirmed INTEGER NOT NULL, claimed_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER);
CREATE INDEX IF NOT EXISTS entries_expiry ON entries (expires_at_ms) WHERE expires_at_ms IS NOT NULL;`

// Expired entries are invisible at once; freeing them waits a little so that one alarm frees many.
const SWEEP_DELAY_MS = 60_000

interface Entry {
  account_id: string
  confirmed: number
  claimed_at_ms: number
}

/** One shard of the look-ups of the durable store. */
export class AccountIndexObject extends DurableObject<Env> implements IndexObjectApi {
  #alarmArmed = false

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    ctx.storage.sql.exec(SCHEMA)
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmArmed = (await ctx.storage.getAlarm()) !== null
    })
  }

  #sql<Row = Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): Row[] {
    return this.ctx.storage.sql.exec(query, ...bindings).toArray() as Row[]
  }

  #live(key: string, nowMs: number): Entry | null {
    const sql = 'SELECT account_id, confirmed, claimed_at_ms FROM entries WHERE key = ? AND (expires_at_ms IS NULL OR expires_at_ms > ?)'
    return this.#sql<Entry>(sql, key, nowMs)[0] ?? null
  }

  async claim(key: string, accountId: string, nowMs: number, expiresAtMs: number | null, confirmed: boolean): Promise<ClaimOutcome> {
    const held = this.#live(key, nowMs)
    if (held !== null) {
      if (held.account_id === accountId) return { outcome: 'same' }
      return { outcome: 'other', holder: held.account_id, confirmed: held.confirmed === 1, claimedAtMs: held.claimed_at_ms }
    }
    this.#sql(
      'INSERT OR REPLACE INTO entries (key, account_id, confirmed, claimed_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?)',
      key,
      accountId,
      confirmed ? 1 : 0,
      nowMs,
      expiresAtMs,
    )
    if (expiresAtMs !== null && !this.#alarmArmed) {
      this.#alarmArmed = true
      await this.ctx.storage.setAlarm(expiresAtMs + SWEEP_DELAY_MS)
    }
    return { outcome: 'new' }
  }

  async confirm(key: string, accountId: string): Promise<void> {
    this.#sql('UPDATE entries SET confirmed = 1 WHERE key = ? AND account_id = ?', key, accountId)
  }

  async release(key: string, accountId: string): Promise<void> {
    this.#sql('DELETE FROM entries WHERE key = ? AND account_id = ?', key, accountId)
  }

  async takeOver(key: string, from: string, to: string, nowMs: number): Promise<boolean> {
    const sql = 'UPDATE entries SET account_id = ?, claimed_at_ms = ? WHERE key = ? AND account_id = ? AND confirmed = 0 RETURNING 1'
    return this.#sql(sql, to, nowMs, key, from).length === 1
  }

  async lookup(key: string, nowMs: number): Promise<string | null> {
    return this.#live(key, nowMs)?.account_id ?? null
  }

  async listUsernames(after: string | null, limit: number): Promise<Array<{ nameKey: string; accountId: string }>> {
    // Username entries are `u:<usernameKey>`; ';' is the character after ':', so `key < 'u;'` ends them.
    const sql = "SELECT key, account_id FROM entries WHERE key > ? AND key < 'u;' AND confirmed = 1 ORDER BY key LIMIT ?"
    const rows = this.#sql<{ key: string; account_id: string }>(sql, `u:${after ?? ''}`, limit)
    return rows.map((row) => ({ nameKey: row.key.slice(2), accountId: row.account_id }))
  }

  async ping(): Promise<void> {}

  /** Frees entries expired by the object's own clock, then re-arms for the earliest one left. */
  override async alarm(): Promise<void> {
    this.#alarmArmed = false
    const now = Date.now()
    this.#sql('DELETE FROM entries WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ?', now)
    const next = this.#sql<{ at: number | null }>('SELECT min(expires_at_ms) AS at FROM entries')[0]?.at ?? null
    if (next !== null) {
      this.#alarmArmed = true
      await this.ctx.storage.setAlarm(next + SWEEP_DELAY_MS)
    }
  }
}
