/**
 * `listenForWebSocketUpgrades` (src/runtime/node-ws-upgrade.ts), as `serveWithJsonRefusals` installs
 * it, on a loopback server with a stand-in app: an adopted upgrade hands the socket over (frames,
 * pings and the close reach the receiver, the app's headers reach the 101), a refused one keeps the
 * app's status and headers (with a JSON body), a failing app is a 500, and once upgraded the socket no
 * longer holds the JSON-answer wrapper (nor, through it, the upgrade request).
 */
import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { serveWithJsonRefusals } from '../../../src/runtime/node-refusals.ts'
import { adoptWebSocket, type SocketReceiver } from '../../../src/runtime/node-ws-upgrade.ts'

interface Heard {
  texts: string[]
  binaries: number
  pings: number
  closed: number[]
}

const servers: Array<{ server: Server; wss: WebSocketServer }> = []
afterEach(async () => {
  for (const { server, wss } of servers.splice(0)) {
    for (const client of wss.clients) client.terminate()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

/** A server whose app adopts `/adopt`, refuses anything else with 404 and a header, and throws on `/throw`. */
const start = async () => {
  const heard: Heard = { texts: [], binaries: 0, pings: 0, closed: [] }
  const upgraded: Duplex[] = []
  const receiver: SocketReceiver = {
    text: (data) => void heard.texts.push(data),
    binary: () => void heard.binaries++,
    ping: () => void heard.pings++,
    closed: (code) => void heard.closed.push(code ?? -1),
  }
  const wss = new WebSocketServer({ noServer: true })
  const app = (request: Request, env: unknown): Response => {
    const path = new URL(request.url).pathname
    if (path === '/throw') throw new Error('app failed')
    if (path !== '/adopt') return new Response('no', { status: 404, headers: { 'x-app': 'refused' } })
    const adopted = adoptWebSocket(env, (socket) => {
      upgraded.push((socket as unknown as { _socket: Duplex })._socket)
      socket.send('hello from the server')
      return receiver
    })
    return new Response(null, { status: adopted ? 200 : 500, headers: { 'x-app': 'adopted' } })
  }
  const server = serveWithJsonRefusals({ fetch: app, port: 0, hostname: '127.0.0.1', websocket: { server: wss } } as never) as Server
  servers.push({ server, wss })
  if (!server.listening) await once(server, 'listening')
  const base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { base, heard, upgraded }
}

/** The status and headers the server answered an upgrade with (101 or a refusal). */
interface Answer {
  status: number
  headers: Record<string, unknown>
  body?: string
  socket?: WebSocket
  messages: string[]
}
const answerTo = (url: string): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url)
    const messages: string[] = []
    socket.on('message', (data) => messages.push(String(data)))
    socket.on('upgrade', (response) => resolve({ status: 101, headers: response.headers, socket, messages }))
    socket.on('unexpected-response', (_request, response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk
      })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body, messages }))
    })
    socket.on('error', () => {})
    setTimeout(() => reject(new Error('no answer to the upgrade')), 5000)
  })

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(check()).toBe(true)
}

describe('listenForWebSocketUpgrades', () => {
  it('hands an adopted socket over: frames, pings and the close reach the receiver, the app headers the 101', async () => {
    const { base, heard, upgraded } = await start()
    const answer = await answerTo(`${base}/adopt`)
    expect(answer.status).toBe(101)
    expect(answer.headers['x-app']).toBe('adopted')
    const socket = answer.socket!
    await until(() => answer.messages.length === 1)
    expect(answer.messages).toEqual(['hello from the server'])
    socket.send('{"type":"ping"}')
    socket.send(Buffer.from([1, 2, 3]))
    socket.ping()
    await until(() => heard.texts.length === 1 && heard.binaries === 1 && heard.pings === 1)
    expect(heard.texts).toEqual(['{"type":"ping"}'])
    socket.close(4000, 'bye')
    await until(() => heard.closed.length === 1)
    expect(heard.closed).toEqual([4000])
    // The JSON-answer wrapper (and the request it holds) is gone: `end` is the stream's own again.
    expect(upgraded).toHaveLength(1)
    expect(upgraded[0]!.end).toBe((Object.getPrototypeOf(upgraded[0]) as Duplex).end)
  })

  it("refuses what the app did not adopt with the app's status and headers, and a failing app with 500", async () => {
    const { base, heard } = await start()
    const refused = await answerTo(`${base}/elsewhere`)
    expect(refused.status).toBe(404)
    expect(refused.headers['x-app']).toBe('refused')
    expect(JSON.parse(refused.body ?? '')).toMatchObject({ errcode: 'M_NOT_FOUND', qrelay_code: 'NOT_FOUND' })
    const failed = await answerTo(`${base}/throw`)
    expect(failed.status).toBe(500)
    expect(JSON.parse(failed.body ?? '')).toMatchObject({ qrelay_code: 'INTERNAL' })
    expect(heard.closed).toEqual([])
  })

  it('adopts nothing outside one of its upgrades', () => {
    expect(adoptWebSocket({ incoming: {}, outgoing: undefined }, () => ({}) as SocketReceiver)).toBe(false)
    expect(adoptWebSocket(undefined, () => ({}) as SocketReceiver)).toBe(false)
  })
})
