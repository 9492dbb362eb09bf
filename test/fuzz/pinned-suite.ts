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

/** A plain GET of `path` with `headers` (the shape of the adapter refusals below). */
const get = (family: string, path: FuzzCase['path'], headers: FuzzCase['headers']): FuzzCase => ({
  family,
  method: 'GET',
  path,
  headers,
  body: { kind: 'text', text: [] },
  framing: { kind: 'length' },
})
const WS_PATH: FuzzCase['path'] = [`${NATIVE_PREFIX}/`, { ref: 'nativeId', mutate: 'none' }, '/ws']
const UPGRADE = [
  ['Upgrade', ['websocket']],
  ['Connection', ['Upgrade']],
  ['Sec-WebSocket-Key', ['dGhlIHNhbXBsZSBub25jZQ==']],
  ['Sec-WebSocket-Version', ['13']],
] as const

/**
 * F4 and F6 (docs/security/fuzz.md): refusals `@hono/node-server` made itself, with an empty body
 * (`src/runtime/node-refusals.ts` now answers each with the JSON error). Each is the smallest form of
 * what the fuzzer sent: one header or one character away from a valid request.
 */
const ADAPTER_REFUSALS: Pinned[] = [
  {
    name: 'F6: a path with a backslash (no URL can be built) is refused 400 with the JSON error',
    case: get('garbage', ['/v1\\login'], []),
    status: 400,
  },
  {
    name: 'F6: a Host that is not a host name is refused 400 with the JSON error',
    case: get('garbage', ['/healthz'], [['Host', ['a@b']]]),
    status: 400,
  },
  {
    name: 'F4: Upgrade: websocket without Connection: Upgrade on the WebSocket route is refused 426 (was an empty 500)',
    case: get('native', WS_PATH, [['Upgrade', ['websocket']]]),
    status: 426,
  },
  {
    name: 'F4: a WebSocket upgrade of an unknown path keeps the app’s 404 and its JSON body (was empty)',
    case: get('garbage', ['/nope'], UPGRADE),
    status: 404,
  },
  {
    name: 'F4: a WebSocket handshake `ws` refuses (bad Sec-WebSocket-Key) answers 400 with the JSON error (was HTML)',
    case: get('native', WS_PATH, [...UPGRADE.slice(0, 2), ['Sec-WebSocket-Key', ['x']], ['Sec-WebSocket-Version', ['13']]]),
    status: 400,
  },
  {
    name: 'F4: an upgrade to another protocol (h2c) is refused 400 with the JSON error (was left open)',
    case: get(
      'garbage',
      ['/healthz'],
      [
        ['Upgrade', ['h2c']],
        ['Connection', ['Upgrade']],
      ],
    ),
    status: 400,
  },
  {
    name: 'F4: a WebSocket upgrade whose URL cannot be built is refused 400 with the JSON error (was empty)',
    case: get('garbage', ['/v1\\x'], UPGRADE),
    status: 400,
  },
]

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

/**
 * The `no-response` flags of the 60 000-request Redis run after F4/F6 (docs/security/fuzz.md): a DELETE
 * of a channel with a chunked JSON body of many keys in tiny chunks. The server answers 401 from the
 * headers; the client used to build the chunked bytes one Buffer per piece inside its 5 s clock (four
 * seconds for this body unloaded) and so timed out before reading the answer. Now the bytes are built
 * before the clock, written in slices, and the writing stops at the answer.
 */
const HUGE_CHUNKED_DELETE: Pinned = {
  name: 'no-response: a DELETE of a channel with a 4 MB JSON body in 1-byte chunks gets its 401 (the client no longer times out)',
  case: {
    family: 'native',
    method: 'DELETE',
    path: [`${NATIVE_PREFIX}/`, { ref: 'nativeId', mutate: 'none' }],
    headers: [['Content-Type', ['application/json']]],
    body: { kind: 'text', text: [`{${Array.from({ length: 333_334 }, (_, k) => `"k${k}":${k}`).join(',')}}`] },
    framing: { kind: 'chunked', size: 1, broken: false },
  },
  status: 401,
}

/** The pinned counterexamples, against the target `get()` returns (started by the caller's hooks). */
export const pinnedCounterexamples = (get: () => FuzzTarget): void => {
  for (const pinned of [F5, ...ADAPTER_REFUSALS, HUGE_CHUNKED_DELETE]) {
    it(pinned.name, async () => {
      const target = get()
      const state = await buildState(target.url)
      await target.recorder.settle()
      const { status, violations, body } = await exercise(target, state, pinned.case)
      expect(violations, body).toEqual([])
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
