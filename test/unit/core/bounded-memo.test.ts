/** `boundedMemo`: a function of a string answered once per input while it is remembered, within a bound. */
import { describe, expect, it } from 'vitest'
import { boundedMemo } from '../../../src/core/bounded-memo.ts'

describe('boundedMemo', () => {
  it('computes an input once while it is remembered, and gives the same answers as the function', () => {
    const calls: string[] = []
    const upper = boundedMemo((input) => {
      calls.push(input)
      return input.toUpperCase()
    }, 4)
    expect([upper('a'), upper('b'), upper('a'), upper('b')]).toEqual(['A', 'B', 'A', 'B'])
    expect(calls).toEqual(['a', 'b'])
  })

  it('keeps at most `max` answers: when full it starts over, and still answers right', () => {
    const calls: string[] = []
    const same = boundedMemo((input) => {
      calls.push(input)
      return input
    }, 2)
    for (const input of ['a', 'b', 'c', 'a', 'c']) expect(same(input)).toBe(input)
    // 'c' emptied the memory (a and b were forgotten), so 'a' is computed again; 'c' is still known.
    expect(calls).toEqual(['a', 'b', 'c', 'a'])
  })

  it('remembers a null answer as well', () => {
    let calls = 0
    const none = boundedMemo(() => {
      calls++
      return null
    }, 8)
    expect([none('x'), none('x')]).toEqual([null, null])
    expect(calls).toBe(1)
  })
})
