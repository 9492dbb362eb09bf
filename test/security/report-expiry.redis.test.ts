/**
 * Finding 54 on Redis: a later "not me" report keeps its own deny when the first report's entry would
 * have expired, and a late strike keeps its block (values expire through PEXPIREAT, set from the
 * store's clock, which starts at the real time here). The memory twin is report-expiry.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Redis } from 'ioredis'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { DEFAULT_ABUSE_PER_IP } from '../../src/core/policy/abuse.ts'
import { abuseGuard } from '../../src/services/abuse-guard.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const PHISHER = '203.0.113.50'

if (redisUrl() === null) {
  describe.skip('report expiry: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('finding 54: entries updated by compare-and-swap live from their last update (Redis)', () => {
    let client: Redis | undefined
    afterEach(async () => {
      await client?.quit()
      client = undefined
    })
    const guardOver = () => {
      client = redisClient()
      const clock = fakeClock(Date.now())
      const store = redisStore({ client, keyPrefix: uniquePrefix('report-expiry'), clock })
      const guard = abuseGuard({ counters: store.counters, kv: store.kv, clock, thresholds: DEFAULT_ABUSE_PER_IP })
      return { clock, guard }
    }

    it('finding 54: a later account\'s "not me" deny outlives the first report\'s entry, on Redis too', async () => {
      const { clock, guard } = guardOver()
      expect((await guard.denyForAccount(PHISHER, 'account-a', DAY, undefined)).scope).toBe('account')
      clock.advance(23 * HOUR)
      expect((await guard.denyForAccount(PHISHER, 'account-b', DAY, undefined)).scope).toBe('account')
      clock.advance(2 * HOUR)
      expect(await guard.isDenied(PHISHER, 'account-a')).toBe(false)
      expect(await guard.isDenied(PHISHER, 'account-b'), "B's own 24 h deny after 2 h").toBe(true)
    })

    it("finding 54: a strike late in the abuse record's life keeps its block past the first strike's entry, on Redis too", async () => {
      const { clock, guard } = guardOver()
      const t = DEFAULT_ABUSE_PER_IP
      const strike = async () => {
        for (let i = 0; i < t.maxCheckCodeAborts; i++) await guard.record(PHISHER, 'check_code_abort')
        expect(await guard.isDenied(PHISHER)).toBe(true)
      }
      await strike()
      // A second strike 5 min before the first record would expire, then 1 min past that end: whether
      // or not a counting window starts between them, only a record that lived on answers 4 min.
      clock.advance(t.maxBlockMs + 8 * t.strikeDecayMs - 5 * 60_000)
      expect(await guard.isDenied(PHISHER)).toBe(false)
      await strike()
      clock.advance(6 * 60_000)
      expect(await guard.deniedForMs(PHISHER), "the second strike's block, 4 min left").toBe(4 * 60_000)
    })
  })
}
