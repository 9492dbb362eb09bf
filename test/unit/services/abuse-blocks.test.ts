/**
 * The operator's listing of abuse blocks: an automatic block is listed with its reason, explicit and
 * "not me" denials with theirs; a lifted or ended block is not listed; a block that ends on a later
 * day is found there; a per-account "not me" deny alone is not a block for everybody.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { DEFAULT_ABUSE_PER_IP } from '../../../src/core/policy/abuse.ts'
import { abuseBlocks } from '../../../src/services/abuse-blocks.ts'
import { abuseGuard } from '../../../src/services/abuse-guard.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const DAY = 86_400_000

const setup = () => {
  const clock = fakeClock(Date.UTC(2026, 5, 1, 23, 50))
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  const guard = abuseGuard({
    counters: store.counters,
    kv: store.kv,
    clock,
    thresholds: { ...DEFAULT_ABUSE_PER_IP, minCreatedForRatio: 5 },
  })
  const blocks = abuseBlocks({ kv: store.kv, clock, deniedForMs: (s) => guard.deniedForMs(s), longestBlockMs: 3 * DAY })
  return { clock, guard, blocks }
}

describe('abuseBlocks', () => {
  it('lists automatic, explicit and "not me" blocks with their reasons, longest first, and drops lifted ones', async () => {
    const { guard, blocks } = setup()
    for (let i = 0; i < 5; i++) await guard.record('203.0.113.1', 'channel_created')
    expect(await guard.isDenied('203.0.113.1')).toBe(true)
    await guard.deny('2001:db8:1:2::5', 2 * DAY)
    await guard.denyForAccount('asn:64500', 'a1', 60_000, ['198.51.100.1'])
    expect(await blocks.list()).toEqual([
      { network: '2001:db8:1:2::/64', reason: 'explicit', deniedForMs: 2 * DAY },
      { network: '203.0.113.1', reason: 'low_completion', deniedForMs: 600_000 },
    ])
    for (const account of ['a2', 'a3']) await guard.denyForAccount('asn:64500', account, 60_000, [`net-${account}`])
    expect((await blocks.list()).map((b) => [b.network, b.reason])).toContainEqual(['asn:64500', 'not_me'])
    await guard.lift('203.0.113.1')
    expect((await blocks.list()).map((b) => b.network)).toEqual(['2001:db8:1:2::/64', 'asn:64500'])
  })

  it('finds a block on the day it ends, and forgets it once it has ended', async () => {
    const { clock, guard, blocks } = setup()
    await guard.deny('198.51.100.7', DAY + 3_600_000)
    clock.advance(DAY)
    expect((await blocks.list()).map((b) => [b.network, b.deniedForMs])).toEqual([['198.51.100.7', 3_600_000]])
    clock.advance(3_600_000)
    expect(await blocks.list()).toEqual([])
  })
})
