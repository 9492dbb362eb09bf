/**
 * The WebSocket relay on Workers: both sockets of a native channel end in its Durable Object, with
 * the same protocol as on Node (docs/websocket.md): hello, claim-once, ordered data, acks, the frame
 * limit, and HTTP writes reaching a socket peer.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'

const ORIGIN = 'https://relay.example'
let counter = 0
const ip = () => `192.0.2.${(++counter % 250) + 1}`

const create = async (): Promise<{ id: string; secret: string; token: string }> => {
  const res = await SELF.fetch(`${ORIGIN}/v1/rendezvous`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip() },
    body: JSON.stringify({ data: '' }),
  })
  expect(res.status).toBeLessThan(300)
  const body = (await res.json()) as Record<string, string>
  return { id: body.id as string, secret: (body.creator_secret ?? body.secret) as string, token: body.sequence_token as string }
}

interface Socket {
  ws: WebSocket
  next(): Promise<Record<string, any>>
  closed: Promise<{ code: number; reason: string }>
  send(frame: unknown): void
}

const open = async (id: string): Promise<Socket> => {
  const res = await SELF.fetch(`${ORIGIN}/v1/rendezvous/${id}/ws`, { headers: { upgrade: 'websocket', 'cf-connecting-ip': ip() } })
  expect(res.status).toBe(101)
  const ws = res.webSocket
  if (ws === null) throw new Error('no socket')
  ws.accept()
  const frames: Record<string, any>[] = []
  const waiting: Array<(f: Record<string, any>) => void> = []
  ws.addEventListener('message', (event) => {
    const frame = JSON.parse(event.data as string) as Record<string, any>
    const resolve = waiting.shift()
    if (resolve === undefined) frames.push(frame)
    else resolve(frame)
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason })),
  )
  return {
    ws,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next: () => {
      const ready = frames.shift()
      return ready !== undefined ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve))
    },
  }
}

describe('workers: WebSocket relay in the channel object', () => {
  it('relays data between the creator and the joiner in order, acking each put', async () => {
    const channel = await create()
    const creator = await open(channel.id)
    creator.send({ type: 'hello', secret: channel.secret })
    const welcome = await creator.next()
    expect(welcome).toMatchObject({ type: 'welcome', role: 'creator' })
    const joiner = await open(channel.id)
    joiner.send({ type: 'hello' })
    const joined = await joiner.next()
    expect(joined).toMatchObject({ type: 'welcome', role: 'joiner' })
    expect(typeof joined.joiner_secret).toBe('string')

    let token = joined.sequence_token as string
    for (const data of ['one', 'two', 'three']) {
      joiner.send({ type: 'put', sequence_token: token, data })
      const ack = await joiner.next()
      expect(ack.type).toBe('ack')
      token = ack.sequence_token
      expect(await creator.next()).toMatchObject({ type: 'data', data, sequence_token: token })
      creator.send({ type: 'put', sequence_token: token, data: `re:${data}` })
      token = (await creator.next()).sequence_token
      expect(await joiner.next()).toMatchObject({ type: 'data', data: `re:${data}`, sequence_token: token })
    }
    creator.ws.close(1000)
    joiner.ws.close(1000)
  })

  it('refuses a third party on a claimed channel (4403)', async () => {
    const channel = await create()
    const joiner = await open(channel.id)
    joiner.send({ type: 'hello' })
    expect((await joiner.next()).type).toBe('welcome')
    const third = await open(channel.id)
    third.send({ type: 'hello' })
    expect((await third.closed).code).toBe(4403)
    joiner.ws.close(1000)
  })

  it('closes a socket that sends a frame above the limit (1009) or no hello first (4401)', async () => {
    const channel = await create()
    const big = await open(channel.id)
    big.send({ type: 'hello', secret: channel.secret })
    await big.next()
    big.send({ type: 'put', sequence_token: 'x', data: 'x'.repeat(5000) })
    expect((await big.closed).code).toBe(1009)
    const rude = await open(channel.id)
    rude.send({ type: 'put', sequence_token: 'x', data: 'hi' })
    expect((await rude.closed).code).toBe(4401)
  })

  it('pushes a write made over HTTP by the other party to the socket', async () => {
    const channel = await create()
    const creator = await open(channel.id)
    creator.send({ type: 'hello', secret: channel.secret })
    const welcome = await creator.next()
    // The joiner uses HTTP: its first read claims the channel and shows its secret.
    const read = await SELF.fetch(`${ORIGIN}/v1/rendezvous/${channel.id}`, { headers: { 'cf-connecting-ip': ip() } })
    expect(read.status).toBe(200)
    const joined = (await read.json()) as Record<string, string>
    const put = await SELF.fetch(`${ORIGIN}/v1/rendezvous/${channel.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${joined.joiner_secret}`, 'cf-connecting-ip': ip() },
      body: JSON.stringify({ sequence_token: joined.sequence_token ?? welcome.sequence_token, data: 'over http' }),
    })
    expect(put.status).toBe(200)
    expect(await creator.next()).toMatchObject({ type: 'data', data: 'over http' })
    creator.ws.close(1000)
  })
})

describe('finding 81: a close the client starts, answered by the channel object', () => {
  /** Resolves with the socket's close event, or with `'unanswered'` after `ms`. */
  const closeOf = (ws: WebSocket, ms: number) =>
    Promise.race([
      new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) =>
        ws.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean })),
      ),
      new Promise<'unanswered'>((resolve) => setTimeout(() => resolve('unanswered'), ms)),
    ])

  it('finding 81: answers the close frame of a party that is done with its own, so its close completes cleanly at once', async () => {
    const channel = await create()
    const creator = await open(channel.id)
    creator.send({ type: 'hello', secret: channel.secret })
    expect((await creator.next()).type).toBe('welcome')
    const closed = closeOf(creator.ws, 2_000)
    creator.ws.close(1000, 'done')
    expect(await closed).toEqual({ code: 1000, reason: 'done', wasClean: true })
    expect(creator.ws.readyState).toBe(WebSocket.CLOSED)
  })

  it('finding 81: answers a close without a status code, and one from a socket that never said hello', async () => {
    const channel = await create()
    const silent = await open(channel.id)
    const closed = closeOf(silent.ws, 2_000)
    silent.ws.close()
    expect(await closed).toMatchObject({ wasClean: true })
    const other = await open(channel.id)
    const going = closeOf(other.ws, 2_000)
    other.ws.close(4000, 'client going')
    expect(await going).toEqual({ code: 4000, reason: 'client going', wasClean: true })
  })
})

describe('finding 84: an HTTP write to a channel whose object was made again', () => {
  it('closes with 1012 a socket the object holds without its session, so that its client reconnects and reads the write', async () => {
    const { runInDurableObject } = await import('cloudflare:test')
    const { env } = await import('cloudflare:workers')
    const { channelObjectName } = await import('../../src/adapters/storage/opaque-key.ts')
    const { ChannelObject } = await import('../../src/runtime/channel-object.ts')
    const channel = await create()
    const creator = await open(channel.id)
    creator.send({ type: 'hello', secret: channel.secret })
    expect((await creator.next()).type).toBe('welcome')
    // The object as the runtime makes it again after an eviction: the same storage and the same
    // accepted sockets, nothing in memory. The write from another isolate reaches it first.
    const stub = env.RELAY_CHANNEL.getByName(channelObjectName(channel.id))
    await runInDurableObject(stub, async (_instance, state) => {
      const again = new ChannelObject(state as never, env as never)
      await again.publish(channel.id, JSON.stringify({ type: 'written', rev: 2 }))
    })
    expect(await creator.closed).toEqual({ code: 1012, reason: 'reconnect' })
    // Reconnected with its secret, the creator is welcomed with what is stored.
    const again = await open(channel.id)
    again.send({ type: 'hello', secret: channel.secret })
    expect((await again.next()).type).toBe('welcome')
  })
})
