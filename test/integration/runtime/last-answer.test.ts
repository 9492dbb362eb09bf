/**
 * The answers written on sockets node:http no longer parses (`src/runtime/node-last-answer.ts`): a
 * non-WebSocket upgrade, a refused WebSocket upgrade and a request the parser refuses, each sent with
 * a body the answer does not read. Each connection is closed within the linger bound, whether the peer
 * goes away or keeps its side open. Before, the two upgrade refusals only half-closed: the unread body
 * filled the socket's buffer, the peer's close was never read, and the connection stayed open until the
 * process stopped (a graceful stop waited out its whole grace). The parser's refusal already closed;
 * it is checked with them because it now goes through the same function.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../../src/adapters/platform/node.ts'
import { parseConfig } from '../../../src/config.ts'
import { startNodeServer, type RunningServer } from '../../../src/runtime/node-server.ts'

const BODY = 'x'.repeat(300_000)

const REQUESTS: Record<string, { request: string; status: string }> = {
  'a non-WebSocket upgrade': {
    request: `POST /v1/rendezvous HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`,
    status: 'HTTP/1.1 400 Bad Request',
  },
  'a WebSocket upgrade the app refuses': {
    request:
      'GET /nowhere/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`,
    status: 'HTTP/1.1 404 Not Found',
  },
  'a request the parser refuses mid-body': {
    request: `POST /v1/rendezvous HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nxxxx\r\nzz\r\n${BODY}`,
    status: 'HTTP/1.1 400 Bad Request',
  },
}

/** Sends `request`, resolves with the status line and the socket (still open on this side). */
const exchange = (port: number, request: string): Promise<{ status: string; socket: Socket }> =>
  new Promise((resolve, reject) => {
    // Half-open allowed: the server's FIN does not close this side, which stays open as long as the test wants.
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => socket.write(request))
    let received = ''
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1')
      if (received.includes('\r\n\r\n')) resolve({ status: received.split('\r\n')[0] as string, socket })
    })
    socket.once('close', () => reject(new Error(`closed before an answer: ${JSON.stringify(received.slice(0, 80))}`)))
  })

/** A server on loopback (the abuse guard off: every refusal here is the one under test, not a block of 127.0.0.1). */
const start = async (): Promise<{ server: RunningServer; dataDir: string }> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-last-answer-'))
  const config = parseConfig({ QRELAY_PORT: '0', QRELAY_HOST: '127.0.0.1', QRELAY_DATA_DIR: dataDir, QRELAY_ABUSE_ENABLED: 'false' })
  return { server: await startNodeServer(config, { logger: silentLogger }), dataDir }
}

/** How long a graceful stop of `server` takes (its grace is 10 s: it waits that long for a connection left open). */
const stopTime = async ({ server, dataDir }: { server: RunningServer; dataDir: string }): Promise<number> => {
  const started = Date.now()
  await server.stop()
  rmSync(dataDir, { recursive: true, force: true })
  return Date.now() - started
}

describe('the last answer on a socket the HTTP parser let go of', () => {
  for (const [what, { request, status }] of Object.entries(REQUESTS)) {
    it(`finding 27: closes the connection of ${what} within the bound while the peer keeps its side open`, async () => {
      const target = await start()
      const answer = await exchange(target.server.port, request)
      expect(answer.status).toBe(status)
      // Past the bound (half a second), the server holds no connection: its stop has nothing to wait for.
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      const took = await stopTime(target)
      answer.socket.destroy()
      expect(took).toBeLessThan(5_000)
    })
  }

  it('finding 27: leaves nothing open once the peers are gone', async () => {
    const target = await start()
    for (const { request } of Object.values(REQUESTS)) (await exchange(target.server.port, request)).socket.destroy()
    expect(await stopTime(target)).toBeLessThan(5_000)
  })
})
