/**
 * The WebSocket transport of native channels on a real Node server (port 0) with the memory store:
 * the hello handshake, relay order, the two-party rule, limits, timeouts, close codes, and HTTP and
 * WebSocket as two transports over one channel record.
 *
 * @see ../../../docs/websocket.md
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config.ts'
import type { Clock, Logger } from '../../../src/ports.ts'
import { startNodeServer, type RunningServer } from '../../../src/runtime/node-server.ts'
import { join, openSocket, wsUrl, type TestSocket } from '../../helpers/ws-client.ts'

const BASE_ENV = {
  QRELAY_PORT: '0',
  QRELAY_LOG_LEVEL: 'silent',
  QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s',
  QRELAY_RATE_WRITES_PER_CHANNEL: '1000/60s',
  QRELAY_RATE_READS_PER_CHANNEL: '1000/60s',
  QRELAY_RATE_REFUSED_PER_CLIENT: '1000/600s',
}

const start = (env: Record<string, string> = {}, overrides: { clock?: Clock; logger?: Logger } = {}) =>
  startNodeServer(parseConfig({ ...BASE_ENV, ...env }), overrides)

interface Created {
  id: string
  sequence_token: string
  creator_secret: string
  expires_in_ms: number
}

const createChannel = async (base: string, data = 'offer'): Promise<Created> => {
  const res = await fetch(`${base}/v1/rendezvous`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ data }),
  })
  if (res.status !== 200) throw new Error(`create failed: ${res.status}`)
  return (await res.json()) as Created
}

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` })

/** A channel with the creator and a joiner both on WebSockets. */
const pair = async (base: string, data = 'offer') => {
  const created = await createChannel(base, data)
  const creator = await join(base, created.id, created.creator_secret)
  const joiner = await join(base, created.id)
  return { created, creator: creator.ws, joiner: joiner.ws, joinerSecret: joiner.welcome.joiner_secret as string }
}

const closeAll = (...sockets: TestSocket[]) => {
  for (const ws of sockets) ws.close()
}

describe('WebSocket relay', () => {
  let server: RunningServer
  beforeAll(async () => {
    server = await start()
  })
  afterAll(async () => {
    await server.stop()
  })

  it('welcomes the creator by its secret and the first joiner by claiming, with the current record', async () => {
    const created = await createChannel(server.url, 'offer')
    const creator = await join(server.url, created.id, created.creator_secret)
    expect(creator.welcome).toEqual({
      type: 'welcome',
      role: 'creator',
      data: 'offer',
      sequence_token: created.sequence_token,
      expires_in_ms: expect.any(Number),
    })
    expect(creator.welcome.expires_in_ms as number).toBeLessThanOrEqual(created.expires_in_ms)
    const joiner = await join(server.url, created.id)
    expect(joiner.welcome).toMatchObject({ type: 'welcome', role: 'joiner', data: 'offer', sequence_token: created.sequence_token })
    expect(joiner.welcome.joiner_secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    // The joiner secret works over HTTP too: one channel record, two transports.
    const read = await fetch(`${server.url}/v1/rendezvous/${created.id}`, { headers: bearer(joiner.welcome.joiner_secret as string) })
    expect(read.status).toBe(200)
    closeAll(creator.ws, joiner.ws)
  })

  it('relays many messages in order both ways, acking each writer and never echoing its own write', async () => {
    const { created, creator, joiner } = await pair(server.url)
    let token = created.sequence_token
    for (let i = 0; i < 40; i++) {
      creator.send({ type: 'put', sequence_token: token, data: `c${i}` })
      const ack = await creator.next()
      expect(ack.type).toBe('ack')
      const atJoiner = await joiner.next()
      expect(atJoiner).toEqual({ type: 'data', data: `c${i}`, sequence_token: ack.sequence_token })
      joiner.send({ type: 'put', sequence_token: atJoiner.sequence_token, data: `j${i}` })
      const jack = await joiner.next()
      expect(jack.type).toBe('ack')
      const atCreator = await creator.next()
      expect(atCreator).toEqual({ type: 'data', data: `j${i}`, sequence_token: jack.sequence_token })
      token = atCreator.sequence_token as string
    }
    creator.send({ type: 'ping' })
    joiner.send({ type: 'ping' })
    expect(await creator.next()).toEqual({ type: 'pong' })
    expect(await joiner.next()).toEqual({ type: 'pong' })
    closeAll(creator, joiner)
  })

  it('answers a stale token with conflict and the current token, keeping the socket open', async () => {
    const { created, creator, joiner } = await pair(server.url)
    joiner.send({ type: 'put', sequence_token: created.sequence_token, data: 'first' })
    const ack = await joiner.next()
    expect(await creator.next()).toMatchObject({ type: 'data', data: 'first' })
    creator.send({ type: 'put', sequence_token: created.sequence_token, data: 'late' })
    expect(await creator.next()).toEqual({ type: 'conflict', sequence_token: ack.sequence_token })
    creator.send({ type: 'put', sequence_token: ack.sequence_token, data: 'second' })
    expect((await creator.next()).type).toBe('ack')
    expect(await joiner.next()).toMatchObject({ type: 'data', data: 'second' })
    closeAll(creator, joiner)
  })

  it('lets only the first joiner claim the channel: a second is refused with 4403, over WebSocket and HTTP', async () => {
    const { created, creator, joiner } = await pair(server.url)
    const second = await openSocket(wsUrl(server.url, created.id))
    second.send({ type: 'hello' })
    expect(await second.closedWithin()).toEqual({ code: 4403, reason: 'refused' })
    expect((await fetch(`${server.url}/v1/rendezvous/${created.id}`)).status).toBe(403)
    closeAll(creator, joiner)
  })

  it('refuses a wrong secret with 4403', async () => {
    const created = await createChannel(server.url)
    const ws = await openSocket(wsUrl(server.url, created.id))
    ws.send({ type: 'hello', secret: 'not-the-secret' })
    expect((await ws.closedWithin()).code).toBe(4403)
  })

  it('closes 4404 for an unknown channel, or one of another API', async () => {
    const unknown = await openSocket(wsUrl(server.url, 'no-such-channel'))
    unknown.send({ type: 'hello' })
    expect((await unknown.closedWithin()).code).toBe(4404)
    const res = await fetch(`${server.url}/_matrix/client/unstable/io.element.msc4388/rendezvous`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"data":""}',
    })
    const { id } = (await res.json()) as { id: string }
    const other = await openSocket(wsUrl(server.url, id))
    other.send({ type: 'hello' })
    expect((await other.closedWithin()).code).toBe(4404)
  })

  it('closes on protocol errors with their codes', async () => {
    const created = await createChannel(server.url)
    const cases: Array<[(ws: TestSocket) => void, number]> = [
      [(ws) => ws.raw.send('{"type":'), 4400],
      [(ws) => ws.send({ type: 'put', sequence_token: created.sequence_token, data: 'x' }), 4401],
      [(ws) => ws.raw.send(Buffer.from('binary')), 1003],
    ]
    for (const [act, code] of cases) {
      const ws = await openSocket(wsUrl(server.url, created.id))
      act(ws)
      expect((await ws.closedWithin()).code).toBe(code)
    }
    const { ws } = await join(server.url, created.id, created.creator_secret)
    ws.send({ type: 'hello', secret: created.creator_secret })
    expect(await ws.closedWithin()).toEqual({ code: 4400, reason: 'bad frame: hello already done' })
  })

  it('replaces an older socket of the same party (4001) and keeps relaying to the newer one', async () => {
    const { created, creator, joiner } = await pair(server.url)
    const newer = await join(server.url, created.id, created.creator_secret)
    expect(await creator.closedWithin()).toEqual({ code: 4001, reason: 'replaced by a newer connection' })
    joiner.send({ type: 'put', sequence_token: created.sequence_token, data: 'to the newer one' })
    expect((await joiner.next()).type).toBe('ack')
    expect(await newer.ws.next()).toMatchObject({ type: 'data', data: 'to the newer one' })
    closeAll(newer.ws, joiner)
  })

  it('pushes HTTP writes to the WebSocket party, and WebSocket writes are read over HTTP', async () => {
    const created = await createChannel(server.url)
    const { ws: creator } = await join(server.url, created.id, created.creator_secret)
    const claim = await fetch(`${server.url}/v1/rendezvous/${created.id}`)
    const joined = (await claim.json()) as { sequence_token: string; joiner_secret: string }
    const put = await fetch(`${server.url}/v1/rendezvous/${created.id}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', ...bearer(joined.joiner_secret) },
      body: JSON.stringify({ sequence_token: joined.sequence_token, data: 'from http' }),
    })
    const { sequence_token: httpToken } = (await put.json()) as { sequence_token: string }
    expect(await creator.next()).toEqual({ type: 'data', data: 'from http', sequence_token: httpToken })
    creator.send({ type: 'put', sequence_token: httpToken, data: 'from ws' })
    const ack = await creator.next()
    const poll = await fetch(`${server.url}/v1/rendezvous/${created.id}`, { headers: bearer(joined.joiner_secret) })
    expect(await poll.json()).toMatchObject({ data: 'from ws', sequence_token: ack.sequence_token })
    // The creator's own HTTP write is not pushed back to the creator's socket.
    await fetch(`${server.url}/v1/rendezvous/${created.id}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', ...bearer(created.creator_secret) },
      body: JSON.stringify({ sequence_token: ack.sequence_token, data: 'creator over http' }),
    })
    creator.send({ type: 'ping' })
    expect(await creator.next()).toEqual({ type: 'pong' })
    creator.close()
  })

  it('closes the other party with 4404 on delete and 4409 with the reason on abort, its own end with 1000', async () => {
    const first = await pair(server.url)
    const del = await fetch(`${server.url}/v1/rendezvous/${first.created.id}`, { method: 'DELETE', headers: bearer(first.joinerSecret) })
    expect(del.status).toBe(200)
    expect(await first.creator.closedWithin()).toEqual({ code: 4404, reason: 'deleted by the other party' })
    expect((await first.joiner.closedWithin()).code).toBe(1000)

    const second = await pair(server.url)
    second.creator.send({ type: 'abort', reason: 'check_code_mismatch' })
    expect(await second.creator.closedWithin()).toEqual({ code: 1000, reason: 'done' })
    expect(await second.joiner.closedWithin()).toEqual({ code: 4409, reason: 'check_code_mismatch' })
    expect((await fetch(`${server.url}/v1/rendezvous/${second.created.id}`, { headers: bearer(second.joinerSecret) })).status).toBe(404)

    const third = await pair(server.url)
    third.joiner.send({ type: 'delete' })
    expect((await third.joiner.closedWithin()).code).toBe(1000)
    expect((await third.creator.closedWithin()).code).toBe(4404)
  })

  it('keeps the channel when a party merely closes its socket', async () => {
    const { created, creator, joiner, joinerSecret } = await pair(server.url)
    joiner.close()
    await joiner.closedWithin()
    const again = await join(server.url, created.id, joinerSecret)
    expect(again.welcome).toMatchObject({ role: 'joiner', data: 'offer' })
    expect(again.welcome).not.toHaveProperty('joiner_secret')
    closeAll(creator, again.ws)
  })

  it('answers a plain GET with 426 and Upgrade: websocket, other methods with 405', async () => {
    const created = await createChannel(server.url)
    const res = await fetch(`${server.url}/v1/rendezvous/${created.id}/ws`)
    expect(res.status).toBe(426)
    expect(res.headers.get('upgrade')).toBe('websocket')
    expect(await res.json()).toMatchObject({ qrelay_code: 'UPGRADE_REQUIRED' })
    expect((await fetch(`${server.url}/v1/rendezvous/${created.id}/ws`, { method: 'POST' })).status).toBe(405)
  })
})

describe('WebSocket relay limits', () => {
  let server: RunningServer
  beforeAll(async () => {
    server = await start({
      QRELAY_MAX_PAYLOAD_BYTES: '64',
      // Wide enough that a loaded machine's pauses (a join, a ping round) never reach them; the tests
      // wait for the close itself (bounded), never a fixed time.
      QRELAY_WS_HELLO_TIMEOUT_MS: '1500',
      QRELAY_WS_IDLE_TIMEOUT_MS: '2500',
      QRELAY_RATE_REFUSED_PER_CLIENT: '2/600s',
    })
  })
  afterAll(async () => {
    await server.stop()
  })

  it('closes 1009 on a frame above the frame limit, and on a put above the payload limit', async () => {
    const created = await createChannel(server.url, '')
    const big = await join(server.url, created.id, created.creator_secret)
    big.ws.send({ type: 'put', sequence_token: created.sequence_token, data: 'x'.repeat(64 * 6 + 1024) })
    expect((await big.ws.closedWithin()).code).toBe(1009)
    const over = await join(server.url, created.id, created.creator_secret)
    over.ws.send({ type: 'put', sequence_token: created.sequence_token, data: 'x'.repeat(65) })
    expect(await over.ws.closedWithin()).toEqual({ code: 1009, reason: 'payload too large' })
  })

  it('closes 4401 when no hello comes in time', async () => {
    const created = await createChannel(server.url, '')
    const ws = await openSocket(wsUrl(server.url, created.id))
    expect(await ws.closedWithin()).toEqual({ code: 4401, reason: 'hello timeout' })
  })

  it('closes 4408 once idle, while pings of either kind keep a socket open', async () => {
    const created = await createChannel(server.url, '')
    const { ws } = await join(server.url, created.id, created.creator_secret)
    // 10 rounds of 400 ms: 4 s of pings, well past the 2.5 s idle timeout, each gap far below it.
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 400))
      if (i % 2 === 0) {
        ws.send({ type: 'ping' })
        expect(await ws.next()).toEqual({ type: 'pong' })
      } else {
        ws.raw.ping()
      }
    }
    expect(await ws.closedWithin(10_000)).toEqual({ code: 4408, reason: 'idle timeout' })
  })

  it('counts refusals like HTTP, and closes 4429 once the client is shut out', async () => {
    const created = await createChannel(server.url, '')
    const { ws: joiner } = await join(server.url, created.id)
    const codes: number[] = []
    for (let i = 0; i < 3; i++) {
      const third = await openSocket(wsUrl(server.url, created.id))
      third.send({ type: 'hello' })
      codes.push((await third.closedWithin()).code)
    }
    expect(codes).toEqual([4403, 4403, 4429])
    expect((await fetch(`${server.url}/v1/rendezvous/${created.id}`)).status).toBe(429)
    joiner.close()
  })
})

describe('WebSocket relay lifetime', () => {
  it('closes 4410 at the channel expiry', async () => {
    let offsetMs = 0
    const clock: Clock = { now: () => Date.now() + offsetMs }
    const server = await start({}, { clock })
    try {
      const created = await createChannel(server.url, '')
      offsetMs = created.expires_in_ms - 400
      const { ws, welcome } = await join(server.url, created.id, created.creator_secret)
      expect(welcome.expires_in_ms as number).toBeLessThanOrEqual(400)
      expect(await ws.closedWithin(3000)).toEqual({ code: 4410, reason: 'expired' })
    } finally {
      await server.stop()
    }
  })

  it('closes every socket with 1001 when the server stops', async () => {
    const server = await start({ QRELAY_SHUTDOWN_GRACE_MS: '5000' })
    const { creator, joiner } = await pair(server.url)
    const waiting = await openSocket(wsUrl(server.url, 'any-id'))
    await server.stop()
    expect((await creator.closedWithin()).code).toBe(1001)
    expect((await joiner.closedWithin()).code).toBe(1001)
    expect((await waiting.closedWithin()).code).toBe(1001)
  })

  it('has no WebSocket route when QRELAY_WS_ENABLED=false', async () => {
    const server = await start({ QRELAY_WS_ENABLED: 'false' })
    try {
      const created = await createChannel(server.url)
      expect((await fetch(`${server.url}/v1/rendezvous/${created.id}/ws`)).status).toBe(404)
      await expect(openSocket(wsUrl(server.url, created.id))).rejects.toThrow(/404/)
    } finally {
      await server.stop()
    }
  })

  it('never logs a channel id, secret, token or payload', async () => {
    const lines: string[] = []
    const capture = (bound: Record<string, unknown>): Logger => {
      const write = (fields: Record<string, unknown>, message: string) => lines.push(JSON.stringify({ ...bound, ...fields, message }))
      return { debug: write, info: write, warn: write, error: write, child: (fields) => capture({ ...bound, ...fields }) }
    }
    const server = await start({}, { logger: capture({}) })
    try {
      const { created, creator, joiner, joinerSecret } = await pair(server.url, 'offer-payload-123')
      creator.send({ type: 'put', sequence_token: created.sequence_token, data: 'secret-payload-456' })
      const ack = await creator.next()
      await joiner.next()
      joiner.send({ type: 'delete' })
      await creator.closedWithin()
      await joiner.closedWithin()
      expect(lines.some((line) => line.includes('websocket closed'))).toBe(true)
      const text = lines.join('\n')
      for (const bearerValue of [created.id, created.creator_secret, joinerSecret, created.sequence_token, ack.sequence_token as string]) {
        expect(text).not.toContain(bearerValue)
      }
      expect(text).not.toContain('offer-payload-123')
      expect(text).not.toContain('secret-payload-456')
    } finally {
      await server.stop()
    }
  })
})
