import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { counterTable, type PreparedKey } from '../../../src/adapters/storage/counter-table.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

/**
 * The memory store's counters as a Map in creation order of objects with an expiry, for comparison: at the
 * cap the oldest of the kind holding the most goes (the lowest kind on a tie); a release to nothing frees.
 */
const modelTable = (maxCounters: number, kindOf: (key: string) => number = () => 0) => {
  const map = new Map<string, { value: number; expiresAtMs: number }>()
  const live = (key: string, now: number) => {
    const c = map.get(key)
    if (c === undefined) return null
    if (c.expiresAtMs > now) return c
    map.delete(key)
    return null
  }
  const prune = (now: number): void => {
    for (const [key, c] of map) if (c.expiresAtMs <= now) map.delete(key)
  }
  return {
    read: (key: string, now: number): number => live(key, now)?.value ?? 0,
    bump(key: string, ttlMs: number, now: number): number {
      const c = live(key, now)
      if (c !== null) return ++c.value
      if (map.size >= maxCounters) {
        prune(now)
        while (map.size >= maxCounters) {
          const counts = new Map<number, number>()
          for (const k of map.keys()) counts.set(kindOf(k), (counts.get(kindOf(k)) ?? 0) + 1)
          const [largest] = [...counts].sort(([ka, a], [kb, b]) => b - a || ka - kb)[0] as [number, number]
          for (const k of map.keys()) {
            if (kindOf(k) !== largest) continue
            map.delete(k)
            break
          }
        }
      }
      map.set(key, { value: 1, expiresAtMs: now + ttlMs })
      return 1
    },
    release(key: string, now: number): void {
      const c = live(key, now)
      if (c === null) return
      if (c.value <= 1) map.delete(key)
      else c.value--
    },
    prune,
    get size() {
      return map.size
    },
  }
}

const seeded = (start: number) => {
  let s = start
  return (n: number): number => {
    s = (s * 48_271) % 2_147_483_647
    return s % n
  }
}

describe('counter table', () => {
  it('counts from 1, keeps the TTL set at creation and expires exactly then', () => {
    const clock = fakeClock()
    const t = counterTable({ maxCounters: 100 })
    expect(t.bump('a', 10_000, clock.now())).toBe(1)
    clock.advance(6_000)
    expect(t.bump('a', 10_000, clock.now())).toBe(2)
    clock.advance(3_999)
    expect(t.read('a', clock.now())).toBe(2)
    clock.advance(1)
    expect(t.read('a', clock.now())).toBe(0)
    expect(t.size).toBe(0)
    expect(t.bump('a', 10_000, clock.now())).toBe(1)
  })

  it('reads 0 for an absent key and tells keys apart', () => {
    const clock = fakeClock()
    const t = counterTable({ maxCounters: 100 })
    t.bump('rl:create:192.0.2.1:5', 120_000, clock.now())
    expect(t.read('rl:create:192.0.2.1:4', clock.now())).toBe(0)
    expect(t.read('rl:create:192.0.2.1:5', clock.now())).toBe(1)
    expect(t.read('', clock.now())).toBe(0)
    expect(t.bump('', 1000, clock.now())).toBe(1)
    expect(t.read('\u0000', clock.now())).toBe(0)
    expect(t.read('é✓', clock.now())).toBe(0)
  })

  it('counts window w of a key as the key "<key>:<w>"', () => {
    const clock = fakeClock()
    const t = counterTable({ maxCounters: 100 })
    expect(t.bump('rl:a', 1000, clock.now(), 7)).toBe(1)
    expect(t.bump('rl:b', 1000, clock.now(), 7)).toBe(1)
    expect(t.bump('rl:a:7', 1000, clock.now())).toBe(2)
    expect(t.read('rl:a', clock.now(), 7)).toBe(2)
    expect(t.read('rl:a', clock.now(), 6)).toBe(0)
    expect(t.bump('rl:b', 1000, clock.now(), -1)).toBe(1)
    expect(t.read('rl:b:-1', clock.now())).toBe(1)
    t.bump('x', 1000, clock.now(), 1.5)
    expect(t.read('x:1.5', clock.now())).toBe(1)
    t.release('rl:a', clock.now(), 7)
    expect(t.read('rl:a:7', clock.now())).toBe(1)
    expect(t.read('rl:b', clock.now(), 7)).toBe(1)
  })

  it('releases down to 0, never below, and frees the counter there; nothing for absent or expired keys', () => {
    const clock = fakeClock()
    const t = counterTable({ maxCounters: 100 })
    t.bump('r', 1000, clock.now())
    t.bump('r', 1000, clock.now())
    t.bump('s', 1000, clock.now())
    t.release('r', clock.now())
    expect(t.read('r', clock.now())).toBe(1)
    expect(t.size).toBe(2)
    // Back to nothing: as if never counted (a refunded reservation leaves no counter to evict others with).
    for (let i = 0; i < 2; i++) t.release('r', clock.now())
    expect(t.read('r', clock.now())).toBe(0)
    expect(t.size).toBe(1)
    t.release('absent', clock.now())
    expect(t.size).toBe(1)
    clock.advance(1000)
    t.release('s', clock.now())
    expect(t.size).toBe(0)
  })

  it('at the cap frees the expired first, then evicts the oldest created', () => {
    const clock = fakeClock()
    const t = counterTable({ maxCounters: 3 })
    t.bump('short', 1000, clock.now())
    t.bump('long1', 60_000, clock.now())
    t.bump('long2', 60_000, clock.now())
    clock.advance(1000)
    t.bump('new1', 60_000, clock.now())
    expect(['short', 'long1', 'long2', 'new1'].map((k) => t.read(k, clock.now()))).toEqual([0, 1, 1, 1])
    t.bump('new2', 60_000, clock.now())
    expect(['long1', 'long2', 'new1', 'new2'].map((k) => t.read(k, clock.now()))).toEqual([0, 1, 1, 1])
    expect(t.size).toBe(3)
  })

  it('finding 53: at the cap evicts only from the kind that holds the most, so a flood of one kind never evicts another', () => {
    const clock = fakeClock()
    const kindOf = (key: string): number => (key.startsWith('flood:') ? 1 : key.startsWith('guess:') ? 2 : 0)
    const t = counterTable({ maxCounters: 1000, kindOf })
    // The owner's guess budgets and a few other counters, counted before the flood.
    for (let i = 0; i < 10; i++) t.bump(`guess:account:${i}`, 900_000, clock.now())
    for (let i = 0; i < 5; i++) t.bump(`other:${i}`, 900_000, clock.now())
    clock.advance(1000)
    // Ten times the cap of new keys of one kind (an attacker's DPoP replay marks, say): none expires meanwhile.
    for (let i = 0; i < 10_000; i++) t.bump(`flood:${i}`, 65_001, clock.now())
    expect(t.size).toBe(1000)
    for (let i = 0; i < 10; i++) expect(t.read(`guess:account:${i}`, clock.now())).toBe(1)
    for (let i = 0; i < 5; i++) expect(t.read(`other:${i}`, clock.now())).toBe(1)
    // The flood evicted its own oldest: its newest 985 are held.
    expect(t.read('flood:9014', clock.now())).toBe(0)
    expect(t.read('flood:9015', clock.now())).toBe(1)
    // A new key of another kind at the cap evicts the flood's oldest, not a guess budget.
    t.bump('guess:account:new', 900_000, clock.now())
    expect(t.read('flood:9015', clock.now())).toBe(0)
    expect(t.read('guess:account:0', clock.now())).toBe(1)
    // A prepared key carries its kind.
    const prepared = t.prepare('guess:net:a1')
    t.bump(prepared, 900_000, clock.now(), 7)
    expect(t.read('guess:account:1', clock.now())).toBe(1)
    expect(t.read(prepared, clock.now(), 7)).toBe(1)
  })

  it('frees due counters on prune', () => {
    const clock = fakeClock()
    const t = counterTable({ maxCounters: 10_000 })
    for (let i = 0; i < 5000; i++) t.bump(`k${i}`, 1000 + (i % 10) * 1000, clock.now())
    clock.advance(5000)
    t.prune(clock.now())
    expect(t.size).toBe(2500)
    clock.advance(5000)
    t.prune(clock.now())
    expect(t.size).toBe(0)
    expect(t.bump('k1', 1000, clock.now())).toBe(1)
  })

  it('holds 200 000 distinct keys apart', () => {
    const t = counterTable({ maxCounters: 1_000_000 })
    const now = Date.UTC(2026, 0, 1)
    for (let i = 0; i < 200_000; i++)
      t.bump(`abuse:198.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}:490896:channel_created`, 7_200_000, now)
    expect(t.size).toBe(200_000)
    for (let i = 0; i < 200_000; i += 997)
      expect(t.read(`abuse:198.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}:490896:channel_created`, now)).toBe(1)
  })

  it('answers as the Map it replaces over random operations (growth, compaction, eviction, shrinking)', () => {
    for (const [seed, cap, keys] of [
      [7, 50, 80],
      [11, 1000, 3000],
      [13, 5000, 400],
    ] as const) {
      const rand = seeded(seed)
      const clock = fakeClock()
      // Three kinds, the keys' numbers modulo 3: eviction by kind is checked against the model too.
      const kindOf = (key: string): number => Number(key.slice(4)) % 3
      const t = counterTable({ maxCounters: cap, kindOf })
      const m = modelTable(cap, kindOf)
      for (let step = 0; step < 40_000; step++) {
        const key = `key:${rand(keys)}`
        const op = rand(100)
        const now = clock.now()
        if (op < 55) {
          const ttl = 500 + rand(20) * 250
          expect(t.bump(key, ttl, now)).toBe(m.bump(key, ttl, now))
        } else if (op < 85) expect(t.read(key, now)).toBe(m.read(key, now))
        else if (op < 95) {
          t.release(key, now)
          m.release(key, now)
        } else if (op < 97) {
          t.prune(now)
          m.prune(now)
          expect(t.size).toBe(m.size)
        } else clock.advance(rand(3000))
        if (op % 10 === 0) clock.advance(rand(40))
        expect(t.size).toBe(m.size)
      }
    }
  })

  it('counts a prepared key as the key it was prepared from, window by window, among string keys', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.constantFrom('rl:write:a', 'rl:write:b', 'rl:write:a:1', 'rl:write:', ''),
            window: fc.integer({ min: 0, max: 3 }),
            prepared: fc.boolean(),
            op: fc.constantFrom('bump', 'read', 'release'),
            advance: fc.integer({ min: 0, max: 400 }),
          }),
          { maxLength: 200 },
        ),
        fc.integer({ min: 2, max: 30 }),
        (steps, cap) => {
          const clock = fakeClock()
          const t = counterTable({ maxCounters: cap })
          const m = modelTable(cap)
          const prepared = new Map<string, PreparedKey>()
          for (const s of steps) {
            // Prepared once, kept, then used among calls with other keys (the one-entry memo moves on).
            let p = prepared.get(s.key)
            if (p === undefined) prepared.set(s.key, (p = t.prepare(s.key)))
            const key = s.prepared ? p : s.key
            const full = `${s.key}:${s.window}`
            const now = clock.now()
            if (s.op === 'bump') expect(t.bump(key, 1000, now, s.window)).toBe(m.bump(full, 1000, now))
            else if (s.op === 'read') expect(t.read(key, now, s.window)).toBe(m.read(full, now))
            else {
              t.release(key, now, s.window)
              m.release(full, now)
            }
            expect(t.read(full, now)).toBe(m.read(full, now))
            expect(t.size).toBe(m.size)
            clock.advance(s.advance)
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
