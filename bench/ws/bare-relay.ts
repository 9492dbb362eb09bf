/**
 * The baseline of the WebSocket benchmark: a bare `ws` server that pairs the first two sockets opened
 * on the same path (`/<channel id>`) and forwards every text frame of one to the other, nothing else:
 * no authentication, no store, no compare-and-swap, no rate limits, no timers, no logs. What qrelay's
 * WebSocket relay must cost little over. Compression is off, as in qrelay.
 *
 * Run: `PORT=8082 node --import tsx bench/ws/bare-relay.ts` (prints `listening <url>` on stderr; a
 * plain `GET /healthz` answers 200).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'

/** The first socket of a channel, waiting for its peer. */
const waiting = new Map<string, WebSocket>()

const server = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'Content-Type': 'text/plain' }).end()
})
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 4096 * 6 + 1024 })

wss.on('connection', (socket, req) => {
  const id = req.url ?? '/'
  const first = waiting.get(id)
  if (first === undefined) {
    waiting.set(id, socket)
    socket.once('close', () => {
      if (waiting.get(id) === socket) waiting.delete(id)
    })
    return
  }
  waiting.delete(id)
  const pair = (from: WebSocket, to: WebSocket): void => {
    from.on('message', (data, isBinary) => {
      if (!isBinary && to.readyState === to.OPEN) to.send(data, { binary: false })
    })
    from.once('close', () => to.close(1000, 'peer left'))
  }
  // The first socket's 'message' handler is attached only now: frames it sent alone are dropped.
  pair(first, socket)
  pair(socket, first)
})

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  process.stderr.write(`listening http://127.0.0.1:${port}\n`)
})

const stop = (): void => {
  for (const socket of wss.clients) socket.terminate()
  wss.close()
  server.close(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
