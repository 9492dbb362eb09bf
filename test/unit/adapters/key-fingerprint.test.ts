import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KeyFingerprint } from '../../../src/adapters/storage/key-fingerprint.ts'

const read = (fp: KeyFingerprint): [number, number, number] => [fp.h0, fp.h1, fp.h2]

describe('KeyFingerprint', () => {
  it('hashes a window as the key, a colon and the window spelled out, by a string key or a prepared one, in any order', () => {
    const call = fc.record({
      key: fc.oneof(fc.constantFrom('rl:write:a', 'rl:read:b', '', ':'), fc.string({ maxLength: 20 })),
      // Windows near each other (a rule's current and previous), far apart, negative, sharing a slot.
      window: fc.oneof(fc.integer({ min: 29_000_000, max: 29_000_020 }), fc.integer(), fc.constantFrom(0, 8, 16, -1, -9, 2 ** 40)),
      prepared: fc.boolean(),
    })
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 60 }), (calls) => {
        const fp = new KeyFingerprint()
        for (const { key, window, prepared } of calls) {
          fp.hash(`${key}:${window}`, undefined)
          const spelled = read(fp)
          fp.hash(prepared ? fp.prepare(key) : key, window)
          expect(read(fp)).toEqual(spelled)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('hashes a prepared key without a window as its key and colon', () => {
    const fp = new KeyFingerprint()
    const prepared = fp.prepare('rl:write:x')
    fp.hash('rl:write:x:', undefined)
    const spelled = read(fp)
    fp.hash(prepared, undefined)
    expect(read(fp)).toEqual(spelled)
  })
})
