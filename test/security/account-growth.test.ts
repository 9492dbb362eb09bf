/**
 * Findings 62 and 63 (state one account makes the durable store keep, see SECURITY.md): the devices
 * of an account are capped (`QRELAY_MAX_DEVICES_PER_ACCOUNT`), checked in the session mint's own step,
 * and each refresh family keeps only its newest rotated-out hashes (`REFRESH_USED_KEPT`) for reuse
 * detection. Memory store through `app.request()`, SQLite `:memory:` where rows are counted; the Redis
 * variants are in `account-growth.redis.test.ts`.
 */
import Database from 'libsql'
import { describe, expect, it } from 'vitest'
import { sqliteStore } from '../../src/adapters/durable/sqlite.ts'
import { call, refresh, viaApp, withUia, type Send } from '../helpers/account-client.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'
import { accountGrowthCases, PASSWORD } from './account-growth-suite.ts'

const START = Date.UTC(2026, 11, 7, 8, 0)

accountGrowthCases('memory', () => ({}))

describe('findings 62 and 63: SQLite rows', () => {
  it('finding 63: 400 rotations of one session keep at most 64 refresh_used rows (SQLite)', async () => {
    const db = new Database(':memory:')
    const t = makeApp({ env: { ...TEST_ENV }, clock: fakeClock(START), durable: (clock) => sqliteStore({ db, clock }) })
    const attacker: Send = viaApp(t.app, '203.0.113.7')
    expect((await call(attacker, 'POST', '/v1/admin/users', { username: 'mallory', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const { final } = await withUia(attacker, 'POST', '/v1/login', { username: 'mallory' }, PASSWORD)
    let token = final.body.refresh_token as string
    for (let i = 0; i < 400; i++) {
      const next = await refresh(attacker, token)
      expect(next.status, JSON.stringify(next.body)).toBe(200)
      token = next.body.refresh_token as string
    }
    const used = (db.prepare('SELECT count(*) AS n FROM refresh_used').get() as { n: number }).n
    db.close()
    expect(used, `${used} refresh_used rows for one session`).toBeLessThanOrEqual(64)
  }, 30_000)
})
