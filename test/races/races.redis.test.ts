/**
 * Races at scale on Redis, fast version (the full runs are `npm run races -- --store redis`): the app
 * on Redis in this process, and two real qrelay processes on one Redis taking the attempts in turn.
 * Each intent ends with exactly one winner, every loser a documented 4xx, and nothing minted twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisUrl } from '../helpers/redis.ts'
import { INTENTS } from './intents.ts'
import { race, table } from './run.ts'
import { makeTarget, type RaceTarget, type StoreKind } from './targets.ts'

const N = 200
const url = redisUrl()

for (const kind of ['redis', 'redis-2p'] as StoreKind[]) {
  describe.skipIf(url === null)(`races at scale: ${kind}`, () => {
    let target: RaceTarget
    beforeAll(async () => {
      target = await makeTarget(kind, { redisUrl: url as string })
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
