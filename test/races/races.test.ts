/**
 * Races at scale, fast version (the full runs are `npm run races`): on memory and on memory + SQLite,
 * a few hundred concurrent attempts of each one-winner intent end with exactly one winner, every
 * loser a documented 4xx, and nothing minted twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { INTENTS } from './intents.ts'
import { race, table } from './run.ts'
import { makeTarget, type RaceTarget, type StoreKind } from './targets.ts'

const N = 300

for (const kind of ['memory', 'sqlite'] as StoreKind[]) {
  describe(`races at scale: ${kind}`, () => {
    let target: RaceTarget
    beforeAll(async () => {
      target = await makeTarget(kind)
    })
    afterAll(async () => {
      await target?.close()
    })

    for (const intent of INTENTS) {
      it(`${N} concurrent ${intent} attempts: exactly one winner, documented losers, nothing twice`, async () => {
        const result = await race(target, intent, N)
        const shown = table([result])
        expect(result.winners, shown).toBe(1)
        expect(result.unexpected, shown).toEqual({})
        expect(result.problems, shown).toEqual([])
      })
    }
  })
}
