/**
 * Races at scale on the Worker inside workerd, smaller n: the Durable Objects (channel, account,
 * counter objects) decide each one-winner intent: 60 concurrent claims of one native channel,
 * approvals of one grant, redemptions of one device code, rotations of one refresh token, uses of one
 * recovery code and replays of one DPoP proof end with exactly one winner, every loser a documented
 * 4xx, nothing minted twice. The Worker keeps its default limits (only the bindings of
 * vitest.config.ts), so losers of approvals and recovery codes are mostly 429 before the decision.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import type { Send } from '../helpers/account-client.ts'
import { INTENTS } from '../races/intents.ts'
import { race, table } from '../races/run.ts'
import type { RaceTarget } from '../races/target.ts'

const ORIGIN = 'https://relay.example'
const N = 60
// workerd runs every request of the race in one isolate: generous, bounded time per race.
const TIMEOUT_MS = 120_000

const worker: RaceTarget = {
  label: 'Durable Objects (workerd)',
  processes: 1,
  send:
    (peer): Send =>
    (path, init) =>
      SELF.fetch(`${ORIGIN}${path}`, { ...init, headers: { 'cf-connecting-ip': peer, ...(init.headers as Record<string, string>) } }),
  now: () => Date.now(),
  close: async () => {},
}

describe('workers: races at scale on Durable Objects', () => {
  for (const intent of INTENTS) {
    it(
      `${N} concurrent ${intent} attempts: exactly one winner, documented losers, nothing twice`,
      async () => {
        const result = await race(worker, intent, N)
        const shown = table([result])
        console.log(shown.split('\n').at(-1))
        expect(result.winners, shown).toBe(1)
        expect(result.unexpected, shown).toEqual({})
        expect(result.problems, shown).toEqual([])
      },
      TIMEOUT_MS,
    )
  }
})
