import { describe, expect, it } from 'vitest'
import { expiryHeap } from '../../../src/adapters/storage/expiry-heap.ts'

describe('expiry heap', () => {
  it('pops the due entries oldest first and keeps the rest', () => {
    const heap = expiryHeap()
    const times = [50, 10, 40, 10, 30, 20, 60, 5]
    times.forEach((at, i) => heap.push(`k${i}`, at))
    const dropped: [string, number][] = []
    heap.popDue(30, (key, at) => dropped.push([key, at]))
    expect(dropped.map(([, at]) => at)).toEqual([5, 10, 10, 20, 30])
    expect(new Set(dropped.map(([key]) => key))).toEqual(new Set(['k7', 'k1', 'k3', 'k5', 'k4']))
    expect(heap.size).toBe(3)
    const rest: number[] = []
    heap.popDue(Number.POSITIVE_INFINITY, (_, at) => rest.push(at))
    expect(rest).toEqual([40, 50, 60])
    expect(heap.size).toBe(0)
  })

  it('matches a sorted list over many pushes, pops and retains', () => {
    const heap = expiryHeap()
    const model: { key: string; at: number }[] = []
    let seed = 1
    const next = (): number => {
      seed = (seed * 48_271) % 2_147_483_647
      return seed
    }
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 40; i++) {
        const entry = { key: `r${round}-${i}`, at: round * 10 + (next() % 200) }
        heap.push(entry.key, entry.at)
        model.push(entry)
      }
      if (round % 7 === 3) {
        const keep = (key: string): boolean => !key.endsWith('5')
        heap.retain(keep)
        model.splice(0, model.length, ...model.filter((e) => keep(e.key)))
      }
      const now = round * 10
      const popped: number[] = []
      heap.popDue(now, (_, at) => popped.push(at))
      const due = model.filter((e) => e.at <= now).map((e) => e.at)
      expect(popped).toEqual([...due].sort((a, b) => a - b))
      model.splice(0, model.length, ...model.filter((e) => e.at > now))
      expect(heap.size).toBe(model.length)
    }
  })
})
