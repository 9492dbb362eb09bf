/**
 * Shrunk fuzz counterexamples replayed as they were found: the same case (arbitraries.ts), rendered
 * against fresh real state on a real server, checked by the same invariants and recorder. Run on
 * memory + SQLite (pinned.test.ts) and on Redis (pinned.redis.test.ts).
 */
import { expect, it } from 'vitest'
import type { FuzzCase } from './arbitraries.ts'
import { exercise } from './run.ts'
import { buildState, MSC4388_PREFIX, NATIVE_PREFIX, type FuzzState } from './state.ts'
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

/**
 * The checker's own counterexample (docs/security/fuzz.md, "Classifying the flags"): a DELETE sent with
 * body bytes and no framing header is answered 400 by Node's parser (the bytes after it are not HTTP)
 * while the app still deletes the channel. That write used to land in the next request's look and be
 * flagged as its state change on a 4xx.
 */
const CUT_SHORT: FuzzCase = {
  family: 'msc4388',
  method: 'DELETE',
  path: [`${MSC4388_PREFIX}/`, { ref: 'msc4388Id', mutate: 'none' }],
  headers: [['Content-Type', ['application/json']]],
  body: { kind: 'text', text: ['[[[[[[[[[['] },
  framing: { kind: 'none' },
}
const NEXT: FuzzCase = {
  family: 'accounts',
  method: 'GET',
  path: ['/v1/account/whoami'],
  headers: [],
  body: { kind: 'text', text: [] },
  framing: { kind: 'length' },
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

  it('checker: the write of a request the parser cut short counts for that request, never for the next (a 401)', async () => {
    const target = get()
    const state = await buildState(target.url)
    await target.recorder.settle()
    const cut = await exercise(target, state, CUT_SHORT)
    expect(cut.status).toBe(400)
    expect(cut.violations).toEqual([])
    expect(cut.writes).toBeGreaterThanOrEqual(1)
    const next = await exercise(target, state, NEXT)
    expect(next.status).toBe(401)
    expect(next.violations).toEqual([])
    expect(next.writes).toBe(0)
  }, 30_000)
}
