/**
 * A relay that throws as a socket opens closes that socket with 1011 and logs the failure; the
 * process goes on serving. On Node the throw happened inside the `upgrade` listener (an async
 * function), where it became an unhandled rejection: the process down with every login in it
 * (docs/security/faults.md, "Fixed here"). A real server (`serveWithJsonRefusals`, the runtime's
 * `ws` server and transport) and a real client; the relay is a stand-in whose `connect` throws.
 */
import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Hono } from 'hono'
import { afterEach, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { AppEnv } from '../../../src/http/context.ts'
import { relayWebSocket } from '../../../src/http/routes/relay-ws.ts'
import type { Logger } from '../../../src/ports.ts'
import { serveWithJsonRefusals } from '../../../src/runtime/node-refusals.ts'
import { adoptWebSocket } from '../../../src/runtime/node-ws-upgrade.ts'
import { nodeWebSocketServer, nodeWebSocketTransport } from '../../../src/runtime/node-ws.ts'
import type { RelayService } from '../../../src/services/relay.ts'

const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

it('finding 27: a relay throwing at connect closes only that socket, with 1011, and logs it without the message', async () => {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = []
  const log: Logger = {
    debug: (fields, message) => void lines.push({ level: 'debug', fields, message }),
    info: (fields, message) => void lines.push({ level: 'info', fields, message }),
    warn: (fields, message) => void lines.push({ level: 'warn', fields, message }),
    error: (fields, message) => void lines.push({ level: 'error', fields, message }),
    child: () => log,
  }
  const relay = {
    connect: () => {
      throw new Error('connect failed quoting qrt_NOT_FOR_LOGS')
    },
    shutdown: () => {},
    openCount: () => 0,
  } as unknown as RelayService
  const app = new Hono<AppEnv>()
  app.use(async (c, next) => {
    c.set('log', log)
    c.set('redact', (value: string) => `h:${value.length}`)
    c.set('clientKey', 'test')
    c.set('clientAddress', '127.0.0.1')
    await next()
  })
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/v1/rendezvous/:id/ws', relayWebSocket(nodeWebSocketTransport(relay)))
  const wss = nodeWebSocketServer(4096)
  const server = serveWithJsonRefusals({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', websocket: { server: wss } } as never) as Server
  servers.push(server)
  if (!server.listening) await once(server, 'listening')
  const port = (server.address() as AddressInfo).port

  for (let i = 0; i < 2; i++) {
    const client = new WebSocket(`ws://127.0.0.1:${port}/v1/rendezvous/channel${i}/ws`)
    client.on('error', () => {})
    const [code] = (await Promise.race([
      once(client, 'close'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the socket was left open')), 5000)),
    ])) as [number]
    expect(code).toBe(1011)
  }
  const failures = lines.filter((line) => line.message === 'websocket open failed')
  expect(failures).toHaveLength(2)
  expect(failures[0]?.level).toBe('error')
  expect(JSON.stringify(lines)).not.toContain('NOT_FOR_LOGS')
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
})

it('finding 27: a throw no route caught while a socket upgrades ends that socket and reaches the server error listener', async () => {
  // A stand-in route whose `open` throws as it is called (the relay's own route catches its faults:
  // above). Before, the throw rejected the async `upgrade` listener: an unhandled rejection.
  const open = (): never => {
    throw new Error('open failed quoting qrt_NOT_FOR_LOGS')
  }
  const fetch = (request: Request, env: unknown): Response =>
    new URL(request.url).pathname === '/ws' && adoptWebSocket(env, open) ? new Response(null, { status: 101 }) : new Response('ok')
  const server = serveWithJsonRefusals({
    fetch,
    port: 0,
    hostname: '127.0.0.1',
    websocket: { server: nodeWebSocketServer(4096) },
  } as never) as Server
  servers.push(server)
  const heard: unknown[] = []
  server.on('error', (error) => heard.push(error))
  if (!server.listening) await once(server, 'listening')
  const port = (server.address() as AddressInfo).port

  for (let i = 0; i < 2; i++) {
    const client = new WebSocket(`ws://127.0.0.1:${port}/ws`)
    client.on('error', () => {})
    const [code] = (await Promise.race([
      once(client, 'close'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the socket was left open')), 5000)),
    ])) as [number]
    expect(code).toBe(1006)
  }
  expect(heard).toHaveLength(2)
  expect((heard[0] as Error).message).toContain('open failed')
  expect(await (await globalThis.fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok')
})
