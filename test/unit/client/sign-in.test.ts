/**
 * The new device's polling in `signIn`, against a scripted token endpoint with an injected clock and
 * sleep: its first poll goes out at once with `Prefer: wait=<interval>` (a long poll), a later one waits
 * the interval (only what is left of it after a poll the server held), it slows down on `slow_down` (never faster again), stops
 * at `expires_in`, stops at once on a decline heard over the channel, polls at once (once) on an
 * approval heard over it, asks for its grant before the existing device's turn-over arrives, and sends a DPoP proof with every request. Plus the existing device's refusal to use anything but its own channel binding.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { describe, expect, it } from 'vitest'
import { approveSignIn } from '../../../src/client/approve.ts'
import { ClientError } from '../../../src/client/errors.ts'
import { LOGIN_APPROVED, LOGIN_DECLINED, LOGIN_GRANT, LOGIN_READY } from '../../../src/client/login-messages.ts'
import type { SessionBase } from '../../../src/client/session-base.ts'
import { signIn } from '../../../src/client/sign-in.ts'

const BINDING = 'B'.repeat(43)
const BASE = 'http://relay.test'

interface Call {
  path: string
  atMs: number
  dpop: string | null
  prefer: string | null
  body: string
}

/** A channel end that records what it sends and answers receives from `inbox` (or never). */
const fakeSession = (device: 'new' | 'existing', role: 'G' | 'S', inbox: Array<() => Promise<unknown>>) => {
  const sent: unknown[] = []
  let closed = false
  const session = {
    device,
    role,
    get status() {
      return closed ? 'closed' : 'open'
    },
    channelBinding: BINDING,
    async send(message: unknown) {
      sent.push(message)
    },
    receive({ signal }: { signal?: AbortSignal } = {}) {
      const next = inbox.shift()
      if (next !== undefined) return next()
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new ClientError('CANCELLED')), { once: true }))
    },
    async close() {
      closed = true
    },
    async abort() {
      closed = true
    },
  }
  return { session: session as unknown as SessionBase, sent }
}

/** A clock moved only by the injected sleep. */
const fakeTime = () => {
  let now = 1_800_000_000_000
  const sleeps: number[] = []
  return {
    now: () => now,
    sleeps,
    sleep: async (ms: number, signal?: AbortSignal) => {
      await Promise.resolve()
      if (signal?.aborted === true) throw new ClientError('CANCELLED')
      sleeps.push(ms)
      now += ms
    },
  }
}

const scriptedServer = (
  time: { now: () => number },
  tokenAnswers: Array<[number, Record<string, unknown>, Record<string, string>?]>,
  grant: Record<string, unknown> = {},
) => {
  const calls: Call[] = []
  const fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    const path = new URL(input).pathname
    const headers = new Headers(init.headers)
    calls.push({ path, atMs: time.now(), dpop: headers.get('dpop'), prefer: headers.get('prefer'), body: String(init.body ?? '') })
    if (path === '/oauth2/device_authorization') {
      return Response.json({ device_code: 'dc', user_code: 'BCDFG-HJKLM', expires_in: 60, interval: 5, ...grant })
    }
    const [status, body, answerHeaders] = tokenAnswers.shift() ?? [400, { error: 'authorization_pending' }]
    return Response.json(body, { status, ...(answerHeaders === undefined ? {} : { headers: answerHeaders }) })
  }
  return { fetch, calls }
}

const TOKENS = { access_token: 'at', refresh_token: 'rt', device_id: 'DEV', expires_in: 300, scope: 'device', token_type: 'DPoP' }

describe('signIn polling', () => {
  it('polls at once (a long poll), waits the interval before each later poll when the server does not hold it, slows down for good on slow_down, and returns the DPoP-bound session', async () => {
    const time = fakeTime()
    const server = scriptedServer(time, [
      [400, { error: 'authorization_pending' }],
      [400, { error: 'slow_down', interval: 10 }],
      [400, { error: 'authorization_pending' }],
      [200, TOKENS],
    ])
    const { session, sent } = fakeSession('new', 'S', [])
    const result = await signIn(session, { baseUrl: BASE, fetch: server.fetch, now: time.now, sleep: time.sleep, deviceName: 'TV' })
    expect(time.sleeps).toEqual([5000, 10_000, 10_000])
    const polls = server.calls.filter((c) => c.path === '/oauth2/token')
    expect(polls.map((c) => c.prefer)).toEqual(['wait=5', 'wait=5', 'wait=10', 'wait=10'])
    for (let i = 1; i < polls.length; i++) expect(polls[i]!.atMs - polls[i - 1]!.atMs).toBeGreaterThanOrEqual(5000)
    expect(sent).toEqual([{ type: LOGIN_GRANT, user_code: 'BCDFG-HJKLM', dpop_jkt: result.dpop.jkt }])
    expect(result).toMatchObject({ accessToken: 'at', refreshToken: 'rt', deviceId: 'DEV', expiresIn: 300 })
    const authorization = server.calls[0]!
    expect(new URLSearchParams(authorization.body).get('channel_binding')).toBe(BINDING)
    expect(new URLSearchParams(authorization.body).get('device_name')).toBe('TV')
    for (const call of server.calls) {
      expect(decodeProtectedHeader(call.dpop!)).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' })
      expect(decodeJwt(call.dpop!)).toMatchObject({ htm: 'POST', htu: `${BASE}${call.path}`, iat: Math.floor(call.atMs / 1000) })
    }
    expect(new Set(server.calls.map((c) => decodeJwt(c.dpop!).jti)).size).toBe(server.calls.length)
  })

  it('gives up with GRANT_EXPIRED at expires_in without polling past it', async () => {
    const time = fakeTime()
    const server = scriptedServer(time, [], { expires_in: 12, interval: 5 })
    const { session } = fakeSession('new', 'S', [])
    const start = time.now()
    await expect(signIn(session, { baseUrl: BASE, fetch: server.fetch, now: time.now, sleep: time.sleep })).rejects.toMatchObject({
      code: 'GRANT_EXPIRED',
    })
    const polls = server.calls.filter((c) => c.path === '/oauth2/token')
    expect(polls.map((c) => c.atMs - start)).toEqual([0, 5000, 10_000])
    expect(time.sleeps).toEqual([5000, 5000, 2000])
  })

  it('stops at once with ACCESS_DENIED when the existing device says declined over the channel', async () => {
    const time = fakeTime()
    const server = scriptedServer(time, [])
    const { session } = fakeSession('new', 'G', [
      async () => ({ type: LOGIN_READY }),
      async () => ({ type: LOGIN_DECLINED, reason: 'user_declined' }),
    ])
    const error = await signIn(session, { baseUrl: BASE, fetch: server.fetch, now: time.now, sleep: time.sleep }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'ACCESS_DENIED' })
    expect(session.status).toBe('closed')
    expect(server.calls.filter((c) => c.path === '/oauth2/token').length).toBeLessThanOrEqual(1)
  })

  it('polls at once, without waiting the interval, when the existing device says approved', async () => {
    const time = fakeTime()
    const server = scriptedServer(time, [[200, TOKENS]], { interval: 60 })
    const { session } = fakeSession('new', 'S', [async () => ({ type: LOGIN_APPROVED })])
    const steps: string[] = []
    const result = await signIn(session, {
      baseUrl: BASE,
      fetch: server.fetch,
      now: time.now,
      sleep: time.sleep,
      onStep: (s) => steps.push(s.step),
    })
    expect(result.deviceId).toBe('DEV')
    expect(time.sleeps).toEqual([])
    expect(steps).toEqual(['dpop_key', 'grant_requested', 'grant_sent', 'approved_by_peer', 'session_minted'])
  })

  it("asks for the grant while the existing device's turn-over travels, and sends it over the channel only after it", async () => {
    const time = fakeTime()
    const server = scriptedServer(time, [[200, TOKENS]])
    let ready: (message: unknown) => void = () => {}
    const turnOver = new Promise((resolve) => (ready = resolve))
    const { session, sent } = fakeSession('new', 'G', [() => turnOver, async () => ({ type: LOGIN_APPROVED })])
    const signingIn = signIn(session, { baseUrl: BASE, fetch: server.fetch, now: time.now, sleep: time.sleep })
    for (let i = 0; i < 50 && server.calls.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(server.calls.map((c) => c.path)).toEqual(['/oauth2/device_authorization'])
    expect(sent).toEqual([])
    ready({ type: LOGIN_READY })
    expect((await signingIn).deviceId).toBe('DEV')
    expect(sent).toMatchObject([{ type: LOGIN_GRANT, user_code: 'BCDFG-HJKLM' }])
  })

  it('cuts a wait short when the approval arrives during it', async () => {
    const time = fakeTime()
    const server = scriptedServer(
      time,
      [
        [400, { error: 'authorization_pending' }],
        [200, TOKENS],
      ],
      { interval: 60 },
    )
    let approve: (message: unknown) => void = () => {}
    const approval = new Promise((resolve) => (approve = resolve))
    const { session } = fakeSession('new', 'S', [() => approval])
    const waits: number[] = []
    // A wait that ends only when it is aborted (an interval far longer than the test).
    const sleep = (ms: number, signal?: AbortSignal) =>
      new Promise<void>((_, reject) => {
        waits.push(ms)
        signal?.addEventListener('abort', () => reject(new ClientError('CANCELLED')), { once: true })
        approve({ type: LOGIN_APPROVED })
      })
    const result = await signIn(session, { baseUrl: BASE, fetch: server.fetch, now: time.now, sleep })
    expect(result.deviceId).toBe('DEV')
    expect(waits).toEqual([60_000])
    expect(server.calls.filter((c) => c.path === '/oauth2/token')).toHaveLength(2)
  })

  it('takes only one early poll: still pending after the approval (a code to type here), it waits the interval again', async () => {
    const time = fakeTime()
    const pending: [number, Record<string, unknown>] = [400, { error: 'authorization_pending' }]
    const server = scriptedServer(time, [pending, pending, [200, TOKENS]])
    const { session } = fakeSession('new', 'S', [async () => ({ type: LOGIN_APPROVED })])
    const result = await signIn(session, { baseUrl: BASE, fetch: server.fetch, now: time.now, sleep: time.sleep })
    expect(result.deviceId).toBe('DEV')
    const polls = server.calls.filter((c) => c.path === '/oauth2/token')
    expect(polls).toHaveLength(3)
    // The poll after the approval's pending answer waited the interval.
    expect(polls[2]!.atMs - polls[1]!.atMs).toBe(5000)
  })

  it('after a poll the server held (Preference-Applied: wait), polls again once the interval since it began is over', async () => {
    const time = fakeTime()
    // The server holds the first poll 5 s (the clock moves while it answers), then answers pending.
    const held = async () => {
      time.sleeps.push(-5000)
      await time.sleep(5000)
    }
    const server = scriptedServer(time, [
      [400, { error: 'authorization_pending' }, { 'preference-applied': 'wait=5' }],
      [200, TOKENS],
    ])
    const fetch = async (input: string, init?: RequestInit) => {
      const answer = await server.fetch(input, init)
      if (new URL(input).pathname === '/oauth2/token' && server.calls.filter((c) => c.path === '/oauth2/token').length === 1) await held()
      return answer
    }
    const { session } = fakeSession('new', 'S', [])
    const result = await signIn(session, { baseUrl: BASE, fetch, now: time.now, sleep: time.sleep })
    expect(result.deviceId).toBe('DEV')
    const polls = server.calls.filter((c) => c.path === '/oauth2/token')
    expect(polls.map((c) => c.prefer)).toEqual(['wait=5', 'wait=5'])
    expect(polls[1]!.atMs - polls[0]!.atMs).toBe(5000)
    // No wait of its own after the held answer: only the server's hold.
    expect(time.sleeps).toEqual([-5000, 5000])
  })

  it('polls at once beside a held poll when the approval is heard meanwhile, and takes the tokens of the one that redeemed', async () => {
    const time = fakeTime()
    let approve: (message: unknown) => void = () => {}
    const approval = new Promise((resolve) => (approve = resolve))
    const { session } = fakeSession('new', 'S', [() => approval])
    let earlyAnswered: () => void = () => {}
    const early = new Promise<void>((resolve) => (earlyAnswered = resolve))
    const polls: Array<string | null> = []
    const fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
      if (new URL(input).pathname === '/oauth2/device_authorization') {
        return Response.json({ device_code: 'dc', user_code: 'BCDFG-HJKLM', expires_in: 60, interval: 5 })
      }
      polls.push(new Headers(init.headers).get('prefer'))
      if (polls.length === 1) {
        // Held by a server that sees the approval only later (another process): the early poll redeems first.
        approve({ type: LOGIN_APPROVED })
        await early
        return Response.json({ error: 'invalid_grant' }, { status: 400, headers: { 'preference-applied': 'wait=5' } })
      }
      setTimeout(earlyAnswered, 0)
      return Response.json(TOKENS)
    }
    const result = await signIn(session, { baseUrl: BASE, fetch, now: time.now, sleep: time.sleep })
    expect(result.deviceId).toBe('DEV')
    expect(polls).toEqual(['wait=5', 'wait=5'])
    expect(time.sleeps).toEqual([])
    expect(session.status).toBe('closed')
  })

  it('maps access_denied and expired_token answers to ACCESS_DENIED and GRANT_EXPIRED', async () => {
    for (const [error, code] of [
      ['access_denied', 'ACCESS_DENIED'],
      ['expired_token', 'GRANT_EXPIRED'],
      ['invalid_grant', 'UNAUTHORIZED'],
    ] as const) {
      const time = fakeTime()
      const server = scriptedServer(time, [[400, { error }]])
      const { session } = fakeSession('new', 'S', [])
      await expect(signIn(session, { baseUrl: BASE, fetch: server.fetch, now: time.now, sleep: time.sleep })).rejects.toMatchObject({
        code,
      })
    }
  })

  it('refuses the existing device, and a session that is not open', async () => {
    const { session } = fakeSession('existing', 'S', [])
    await expect(signIn(session, { baseUrl: BASE })).rejects.toMatchObject({ code: 'INVALID_STATE' })
  })
})

describe('approveSignIn', () => {
  it("posts its own channel binding and the peer's key, and tells the peer the outcome", async () => {
    const posted: Array<Record<string, unknown>> = []
    const fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
      expect(new Headers(init.headers).get('authorization')).toBe('Bearer phone-token')
      if (init.method === 'GET') {
        return Response.json({
          action: 'sign_in_another_device',
          message: 'ANOTHER',
          requested_device_name: 'TV',
          started_at: '',
          expires_in: 60,
          new_device_networks: [],
          proximity: { relation: 'same_prefix', inconsistent: false },
        })
      }
      posted.push(JSON.parse(String(init.body)) as Record<string, unknown>)
      expect(new URL(input).pathname).toBe('/v1/approvals/BCDFG-HJKLM')
      return Response.json({ status: 'approved' })
    }
    // The peer's message carries extra fields (a binding of its choosing): they are ignored.
    const grant = { type: LOGIN_GRANT, user_code: 'BCDFG-HJKLM', dpop_jkt: 'J'.repeat(43), channel_binding: 'X'.repeat(43) }
    const { session, sent } = fakeSession('existing', 'S', [async () => grant])
    const result = await approveSignIn(session, {
      baseUrl: BASE,
      fetch,
      accessToken: 'phone-token',
      confirm: (c) => c.action === 'sign_in_another_device',
    })
    expect(result.status).toBe('approved')
    expect(posted).toEqual([{ decision: 'approve', channel_binding: BINDING, dpop_jkt: 'J'.repeat(43) }])
    expect(sent).toEqual([{ type: LOGIN_READY }, { type: LOGIN_APPROVED }])
  })

  it('refuses a malformed grant message with PROTOCOL_ERROR (channel aborted) before any request', async () => {
    let requests = 0
    const fetch = async (): Promise<Response> => {
      requests++
      return Response.json({})
    }
    const { session } = fakeSession('existing', 'G', [async () => ({ type: LOGIN_GRANT, user_code: 'x', dpop_jkt: 'short' })])
    await expect(approveSignIn(session, { baseUrl: BASE, fetch, accessToken: 't', confirm: () => true })).rejects.toMatchObject({
      code: 'PROTOCOL_ERROR',
    })
    expect(requests).toBe(0)
    expect(session.status).toBe('closed')
  })
})
