/**
 * Finding 54: an entry of the abuse guard updated by compare-and-swap lives from its last update, not
 * from its first write. A later "not me" report keeps its own deny when the first report's entry would
 * have expired, and a strike late in the abuse record's life keeps its block (memory store; the Redis
 * twin is report-expiry.redis.test.ts, every adapter's `replaceIfMatch` TTL in the storage conformance).
 */
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../src/adapters/storage/memory.ts'
import { DEFAULT_ABUSE_PER_IP } from '../../src/core/policy/abuse.ts'
import { abuseGuard } from '../../src/services/abuse-guard.ts'
import { fakeClock } from '../helpers/fake-clock.ts'

const START = Date.UTC(2026, 10, 23, 8, 0)
const HOUR = 3_600_000
const DAY = 24 * HOUR
const PHISHER = '203.0.113.50'

const guardOver = () => {
  const clock = fakeClock(START)
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  const guard = abuseGuard({ counters: store.counters, kv: store.kv, clock, thresholds: DEFAULT_ABUSE_PER_IP })
  return { clock, guard }
}

describe('finding 54: entries updated by compare-and-swap live from their last update', () => {
  it('finding 54: a later account\'s "not me" deny outlives the first report\'s entry', async () => {
    const { clock, guard } = guardOver()
    // Account A (or the phisher, seeding the record) reports the network: denied to A for 24 h.
    expect((await guard.denyForAccount(PHISHER, 'account-a', DAY, undefined)).scope).toBe('account')
    // 23 h later the next victim, B, reports it too: denied to B for 24 h.
    clock.advance(23 * HOUR)
    expect((await guard.denyForAccount(PHISHER, 'account-b', DAY, undefined)).scope).toBe('account')
    // 2 h on, A's report is over and B's has 22 h left.
    clock.advance(2 * HOUR)
    expect(await guard.isDenied(PHISHER, 'account-a')).toBe(false)
    expect(await guard.isDenied(PHISHER, 'account-b'), "B's own 24 h deny after 2 h").toBe(true)
    clock.advance(22 * HOUR - 1)
    expect(await guard.isDenied(PHISHER, 'account-b')).toBe(true)
    clock.advance(1)
    expect(await guard.isDenied(PHISHER, 'account-b')).toBe(false)
  })

  it('finding 54: an account extending its own report keeps the extension past its first entry', async () => {
    const { clock, guard } = guardOver()
    await guard.denyForAccount(PHISHER, 'account-a', DAY, undefined)
    clock.advance(20 * HOUR)
    await guard.denyForAccount(PHISHER, 'account-a', DAY, undefined)
    clock.advance(10 * HOUR)
    expect(await guard.isDenied(PHISHER, 'account-a'), 'the extended deny 10 h after it').toBe(true)
  })

  it("finding 54: a strike late in the abuse record's life keeps its block past the first strike's entry", async () => {
    const { clock, guard } = guardOver()
    const t = DEFAULT_ABUSE_PER_IP
    const strike = async () => {
      for (let i = 0; i < t.maxCheckCodeAborts; i++) await guard.record(PHISHER, 'check_code_abort')
      expect(await guard.isDenied(PHISHER)).toBe(true)
    }
    // First strike: a 10 min block; the record is kept for its longest block and its strikes' decay.
    await strike()
    const recordMs = t.maxBlockMs + 8 * t.strikeDecayMs
    // A second strike 5 min before the first record would expire: a new 10 min block.
    clock.advance(recordMs - 5 * 60_000)
    expect(await guard.isDenied(PHISHER)).toBe(false)
    await strike()
    // One minute past the first record's end (a new counting window, nothing counted in it yet).
    clock.advance(6 * 60_000)
    expect(await guard.deniedForMs(PHISHER), "the second strike's block, 4 min left").toBe(4 * 60_000)
  })
})
