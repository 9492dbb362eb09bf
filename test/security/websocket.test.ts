/**
 * Regression tests of the WebSocket transport's findings (docs/websocket.md): the siblings, on the
 * socket path, of the classes the HTTP APIs were hardened against. Real servers on loopback (port 0).
 */
import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { parseConfig } from '../../src/config.ts'
import { startNodeServer, type RunningServer } from '../../src/runtime/node-server.ts'
import { serveWithJsonRefusals } from '../../src/runtime/node-refusals.ts'
import { nodeWebSocketServer } from '../../src/runtime/node-ws.ts'
import { adoptWebSocket } from '../../src/runtime/node-ws-upgrade.ts'
import { join, openSocket } from '../helpers/ws-client.ts'

/** `count` client frames of `text`, masked (with a zero key, which RFC 6455 allows) and back to back. */
const maskedFrames = (text: string, count: number): Buffer => {
  const payload = Buffer.from(text, 'utf8')
  if (payload.length >= 126) throw new Error('short frames only')
  const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload])
  return Buffer.alloc(frame.length * count, frame)
}

/** Writes `chunk` `times` times to `connection` as fast as it takes them (its own backpressure kept). */
const flood = (connection: Socket, chunk: Buffer, times: number): void => {
  let written = 0
  const pump = (): void => {
    while (written < times && !connection.destroyed) {
      written++
      if (!connection.write(chunk)) return void connection.once('drain', pump)
    }
  }
  pump()
}

/** Waits (bounded) until `read()` has not changed for `quietMs`; returns its value then. */
const settled = async (read: () => number, quietMs: number, maxMs: number): Promise<number> => {
  const until = Date.now() + maxMs
  let last = read()
  let since = Date.now()
  while (Date.now() < until && Date.now() - since < quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    const now = read()
    if (now !== last) {
      last = now
      since = Date.now()
    }
  }
  return last
}

/** Waits (bounded) until `done()` holds; true if it did. */
const reached = async (done: () => boolean, maxMs: number): Promise<boolean> => {
  const until = Date.now() + maxMs
  while (!done() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 25))
  return done()
}

const PING = '{"type":"ping"}'
const PONG = '{"type":"pong"}'

describe('finding 28: a client that never reads cannot make the server buffer its answers', () => {
  const servers: Server[] = []
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it('finding 28: 21 MB of pings from a client that reads nothing leave at most a few hundred KiB unsent on the server', async () => {
    // The Node transport as production builds it, with an app that answers every text frame at once
    // (as the relay answers a ping): what the server holds unsent is what the client made it buffer.
    const wss = nodeWebSocketServer(4096)
    const app = (_request: Request, env: unknown): Response => {
      adoptWebSocket(env, (socket) => ({ text: () => socket.send(PONG), binary() {}, ping() {}, closed() {} }))
      return new Response()
    }
    const server = serveWithJsonRefusals({ fetch: app, port: 0, hostname: '127.0.0.1', websocket: { server: wss } } as never) as Server
    servers.push(server)
    if (!server.listening) await once(server, 'listening')
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`)
    client.on('error', () => {})
    await once(client, 'open')
    const connection = (client as unknown as { _socket: Socket })._socket
    connection.pause()
    flood(connection, maskedFrames(PING, 3000), 330)
    const [socket] = [...wss.clients]
    const serverSide = (socket as unknown as { _socket: Socket })._socket
    await settled(() => serverSide.bytesRead, 500, 20_000)
    // One read chunk's answers may land past the bound before the reads stop (≤ 64 KiB of frames).
    expect(socket!.bufferedAmount).toBeLessThan(512 * 1024)
    client.terminate()
  }, 30_000)
})

describe('WebSockets and the per-address connection cap', () => {
  it('upgraded sockets count toward QRELAY_MAX_CONNECTIONS_PER_ADDRESS, and a closed one frees its place', async () => {
    const server = await startNodeServer(
      parseConfig({ QRELAY_PORT: '0', QRELAY_LOG_LEVEL: 'silent', QRELAY_MAX_CONNECTIONS_PER_ADDRESS: '3' }),
    )
    try {
      const res = await fetch(`${server.url}/v1/rendezvous`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Connection: 'close' },
        body: '{"data":""}',
      })
      const { id } = (await res.json()) as { id: string }
      await new Promise((resolve) => setTimeout(resolve, 100))
      const url = `${server.url.replace('http', 'ws')}/v1/rendezvous/${id}/ws`
      const opened = await Promise.all([0, 1, 2].map(() => openSocket(url)))
      await expect(openSocket(url, 2000)).rejects.toThrow()
      opened[0]!.raw.terminate()
      await opened[0]!.closed
      await new Promise((resolve) => setTimeout(resolve, 100))
      const again = await openSocket(url)
      for (const ws of [...opened, again]) ws.raw.terminate()
    } finally {
      await server.stop()
    }
  })
})

describe('finding 28 on the relay', () => {
  let server: RunningServer
  beforeAll(async () => {
    server = await startNodeServer(parseConfig({ QRELAY_PORT: '0', QRELAY_LOG_LEVEL: 'silent' }))
  })
  afterAll(async () => {
    await server.stop()
  })

  it('finding 28: a party that stopped reading during a ping flood gets every pong once it reads again, and its socket still relays', async () => {
    const res = await fetch(`${server.url}/v1/rendezvous`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"data":""}',
    })
    const created = (await res.json()) as { id: string; sequence_token: string; creator_secret: string }
    const { ws } = await join(server.url, created.id, created.creator_secret)
    const connection = (ws.raw as unknown as { _socket: Socket })._socket
    connection.pause()
    const pings = 3000 * 100
    flood(connection, maskedFrames(PING, 3000), 100)
    await settled(() => connection.writableLength, 500, 20_000)
    let pongs = 0
    ws.raw.on('message', (data) => {
      if (String(data) === PONG) pongs++
    })
    connection.resume()
    // Every pong, however long a loaded machine takes to send them (a quiet second is not the end).
    await reached(() => pongs >= pings, 40_000)
    expect(pongs).toBe(pings)
    ws.send({ type: 'put', sequence_token: created.sequence_token, data: 'after' })
    const acked = new Promise((resolve) => ws.raw.on('message', (data) => String(data).includes('"ack"') && resolve(true)))
    expect(await acked).toBe(true)
    ws.close()
  }, 60_000)
})
