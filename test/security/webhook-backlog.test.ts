/**
 * Finding 69 (the operator's surface, docs/security/operator-surface.md): one account's backlog of
 * webhooks does not make every claim of the outbox walk it. The events of one account go out one at a
 * time (head of line), so an account that makes events faster than the receiver takes them (a sign-in
 * and sign-out loop, or any account while the receiver is down) leaves messages waiting behind its
 * head; a claim read past every one of them to find the messages it may send (SQLite: the Node event
 * loop and the file's write lock held meanwhile; Redis: the test beside this file).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openSqlite } from '../../src/adapters/durable/sqlite.ts'
import { sqliteWebhookOutbox } from '../../src/adapters/durable/sqlite-webhook-outbox.ts'
import type { WebhookOutbox } from '../../src/ports.ts'
import { withBacklog } from '../helpers/webhook-outbox.ts'

const root = mkdtempSync(join(tmpdir(), 'qrelay-backlog-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let serial = 0

/** The shortest of five claims that find nothing new (ms): what a claim costs, not a hiccup of the machine. */
const claimMs = async (outbox: WebhookOutbox, nowMs: number): Promise<number> => {
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < 5; i++) {
    const started = performance.now()
    expect(await outbox.claimDue(nowMs, 10, 3_600_000)).toEqual([])
    best = Math.min(best, performance.now() - started)
  }
  return best
}

const sqliteOutbox = (): WebhookOutbox => {
  const db = openSqlite(join(root, `db-${serial++}`))
  // The test's own file: no fsync per message while the backlog is made.
  db.exec('PRAGMA synchronous = OFF')
  return sqliteWebhookOutbox({ db })
}

describe("finding 69: a claim does not walk one account's backlog (SQLite)", () => {
  it("finding 69: with 30 000 messages waiting behind one head, the others' message is claimed and a claim costs what it costs with 50", async () => {
    const small = sqliteOutbox()
    await withBacklog(small, 50)
    const large = sqliteOutbox()
    await withBacklog(large, 30_000)
    const claimed = await large.claimDue(40_000, 10, 3_600_000)
    expect(claimed.map((m) => m.id)).toEqual(['victim'])
    expect((await small.claimDue(40_000, 10, 3_600_000)).map((m) => m.id)).toEqual(['victim'])
    const [smallMs, largeMs] = [await claimMs(small, 40_000), await claimMs(large, 40_000)]
    // Before: about 30 000 index look-ups per claim (≈ 20 ms here, 600 × the small one).
    expect(largeMs).toBeLessThan(smallMs * 5 + 2)
    // Delivering the head lets the next of its account go, and only that one.
    expect(await large.complete('flood-0000000')).toBe(true)
    expect((await large.claimDue(40_000, 10, 3_600_000)).map((m) => m.id)).toEqual(['flood-0000001'])
  }, 120_000)

  it('finding 69: a file written before keeps its order: the messages waiting behind a head stay behind it after the upgrade', async () => {
    const dir = join(root, `db-${serial++}`)
    const raw = openSqlite(dir)
    const before = sqliteWebhookOutbox({ db: raw })
    for (const [id, key, at] of [
      ['k1-a', 'k1', 1],
      ['k1-b', 'k1', 2],
      ['k2-a', 'k2', 3],
      ['none', undefined, 4],
    ] as const) {
      await before.enqueue({ id, body: '{}', createdAtMs: at, nextAttemptAtMs: at, ...(key === undefined ? {} : { orderKey: key }) })
    }
    // As a file of the release before: the column of this fix dropped again, the schema one version back.
    const version = Number((raw.prepare('PRAGMA user_version').get() as { user_version: number }).user_version)
    const hasWaiting = (raw.prepare('PRAGMA table_info(webhook_outbox)').all() as Array<{ name: string }>).some((c) => c.name === 'waiting')
    if (hasWaiting) {
      raw.exec('DROP INDEX IF EXISTS webhook_outbox_ready; ALTER TABLE webhook_outbox DROP COLUMN waiting')
      raw.exec(`PRAGMA user_version = ${version - 1}`)
    }
    raw.close()
    const after = sqliteWebhookOutbox({ db: openSqlite(dir) })
    expect((await after.claimDue(10, 10, 60_000)).map((m) => m.id).sort()).toEqual(['k1-a', 'k2-a', 'none'])
    expect(await after.complete('k1-a')).toBe(true)
    expect((await after.claimDue(10, 10, 60_000)).map((m) => m.id)).toEqual(['k1-b'])
  })
})
