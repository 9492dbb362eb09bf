/**
 * Shrunk fuzz counterexamples replayed as they were found: the same case (arbitraries.ts), rendered
 * against fresh real state on a real server, checked by the same invariants and recorder. Run on
 * memory + SQLite (pinned.test.ts) and on Redis (pinned.redis.test.ts).
 */
import { expect, it } from 'vitest'
import type { FuzzCase } from './arbitraries.ts'
import { exercise } from './run.ts'
import { buildState, NATIVE_PREFIX, type FuzzState } from './state.ts'
import type { FuzzTarget } from './target.ts'

/** One pinned case, the status it must get, and what else must hold afterwards. */
interface Pinned {
  name: string
  case: FuzzCase
  status: number
  after?: (target: FuzzTarget, state: FuzzState) => Promise<void>
}

/**
 * F5 (docs/security/fuzz.md), as shrunk from seed 20261204: a native PUT without a party secret and
 * with a stale sequence token (another channel's). It used to claim the channel, then refuse the write.
 */
const F5: Pinned = {
  name: 'F5: a native PUT without a party secret and with a stale sequence token is refused (409) and does not claim the channel',
  case: {
    family: 'native',
    method: 'PUT',
    path: [`${NATIVE_PREFIX}/`, { ref: 'nativeId', mutate: 'none' }],
    headers: [['Content-Type', ['application/json; charset=latin1']]],
    body: {
      kind: 'text',
      text: [
        '{"data":"',
        { ref: 'ticket', mutate: 'upper' },
        '","sequence_token":"',
        { ref: 'msc4388Seq', mutate: 'none' },
        '","reason":"check_code_mismatch"}',
      ],
    },
    framing: { kind: 'length' },
  },
  status: 409,
  // The channel is still open to its one real joiner: the first read without a secret claims it.
  after: async (target, state) => {
    const res = await fetch(`${target.url}${NATIVE_PREFIX}/${state.native.id}`)
    const body = (await res.json()) as Record<string, unknown>
    expect(res.status, JSON.stringify(body)).toBe(200)
    expect(typeof body.joiner_secret).toBe('string')
    expect(body.data).toBe('aGVsbG8')
  },
}

/** The pinned counterexamples, against the target `get()` returns (started by the caller's hooks). */
export const pinnedCounterexamples = (get: () => FuzzTarget): void => {
  for (const pinned of [F5]) {
    it(pinned.name, async () => {
      const target = get()
      const state = await buildState(target.url)
      await target.recorder.settle()
      const { status, violations } = await exercise(target, state, pinned.case)
      expect(violations).toEqual([])
      expect(status).toBe(pinned.status)
      await pinned.after?.(target, state)
    }, 30_000)
  }
}
