/**
 * The relay's shared deadline timers (src/services/relay-timers.ts) on a fake clock and scheduler:
 * one scheduler timer at a time, for the earliest deadline; deadlines fire in order, moved and
 * removed ones as the heap says; nothing stays scheduled once empty.
 */
import { describe, expect, it } from 'vitest'
import type { Scheduler } from '../../../src/ports.ts'
import { DeadlineTimers, type Timed } from '../../../src/services/relay-timers.ts'

const setup = () => {
  let now = 0
  const timers: Array<{ at: number; task: () => void; live: boolean }> = []
  const scheduler: Scheduler = {
    schedule(delayMs, task) {
      const timer = { at: now + delayMs, task, live: true }
      timers.push(timer)
      return () => {
        timer.live = false
      }
    },
  }
  const fired: string[] = []
  const item = (name: string): Timed => ({ deadlineAtMs: Infinity, heapIndex: -1, due: () => void fired.push(name) })
  const deadlines = new DeadlineTimers(scheduler, { now: () => now })
  return {
    deadlines,
    item,
    fired,
    pending: () => timers.filter((t) => t.live).length,
    advance(ms: number) {
      now += ms
      for (const timer of timers.filter((t) => t.live && t.at <= now)) {
        timer.live = false
        timer.task()
      }
    },
  }
}

describe('DeadlineTimers', () => {
  it('fires every deadline in order on one scheduler timer at a time', () => {
    const t = setup()
    const items = [30, 10, 50, 20, 40].map((at) => [at, t.item(`at ${at}`)] as const)
    for (const [at, item] of items) t.deadlines.set(item, at)
    expect(t.pending()).toBe(1)
    t.advance(9)
    expect(t.fired).toEqual([])
    t.advance(1)
    expect(t.fired).toEqual(['at 10'])
    t.advance(25)
    expect(t.fired).toEqual(['at 10', 'at 20', 'at 30'])
    expect(t.pending()).toBe(1)
    t.advance(100)
    expect(t.fired).toEqual(['at 10', 'at 20', 'at 30', 'at 40', 'at 50'])
    expect(t.pending()).toBe(0)
    expect(t.deadlines.size).toBe(0)
    expect(items.every(([, item]) => item.heapIndex === -1)).toBe(true)
  })

  it('moves a deadline either way and forgets a removed one', () => {
    const t = setup()
    const a = t.item('a')
    const b = t.item('b')
    const c = t.item('c')
    t.deadlines.set(a, 10)
    t.deadlines.set(b, 20)
    t.deadlines.set(c, 30)
    t.deadlines.set(a, 40)
    t.deadlines.set(c, 5)
    t.deadlines.remove(b)
    t.deadlines.remove(b)
    expect(t.deadlines.size).toBe(2)
    t.advance(50)
    expect(t.fired).toEqual(['c', 'a'])
    t.deadlines.set(b, 60)
    t.deadlines.remove(b)
    expect(t.pending()).toBe(0)
    t.advance(100)
    expect(t.fired).toEqual(['c', 'a'])
  })

  it('keeps the heap in order through many random moves and removals', () => {
    const t = setup()
    const items = Array.from({ length: 200 }, (_, i) => t.item(String(i)))
    let seed = 7
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed
    }
    for (const item of items) t.deadlines.set(item, 1 + (next() % 1000))
    for (let i = 0; i < 300; i++) {
      const item = items[next() % items.length]!
      if (next() % 4 === 0) t.deadlines.remove(item)
      else t.deadlines.set(item, 1 + (next() % 1000))
    }
    const expected = items
      .filter((item) => item.heapIndex >= 0)
      .map((item) => ({ at: item.deadlineAtMs, item }))
      .sort((x, y) => x.at - y.at)
    const firedAt: number[] = []
    for (let ms = 1; ms <= 1000; ms++) {
      const before = t.fired.length
      t.advance(1)
      for (let k = before; k < t.fired.length; k++) firedAt.push(ms)
    }
    expect(t.fired.length).toBe(expected.length)
    expect(firedAt).toEqual(expected.map((e) => e.at))
    expect(t.pending()).toBe(0)
  })
})
