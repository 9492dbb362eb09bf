/**
 * A real webhook receiver for tests: a `node:http` server on a loopback port that records every POST
 * (headers and raw body) and answers with the status the test scripts (default 200). It can also
 * hold a request without answering (to test timeouts). Every wait is bounded.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { WebhookHeaders } from '../../src/core/webhooks/signature.ts'

/** One received request. */
export interface ReceivedWebhook {
  headers: WebhookHeaders
  body: string
  receivedAtMs: number
}

/** A running receiver. */
export interface WebhookReceiver {
  url: string
  port: number
  received: ReceivedWebhook[]
  /** Statuses for the next requests, in order ('hang': never answer); then 200. */
  respondWith(...statuses: Array<number | 'hang'>): void
  /** Resolves once `count` requests arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>
  close(): Promise<void>
}

const header = (req: IncomingMessage, name: string): string => {
  const value = req.headers[name]
  return Array.isArray(value) ? value.join(',') : (value ?? '')
}

/**
 * Starts a receiver on `port` (0: any free port).
 *
 * @example
 * const receiver = await startWebhookReceiver()
 * receiver.respondWith(500, 500)
 */
export const startWebhookReceiver = async (port = 0): Promise<WebhookReceiver> => {
  const received: ReceivedWebhook[] = []
  const script: Array<number | 'hang'> = []
  const waiters: Array<() => void> = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({
        headers: {
          'webhook-id': header(req, 'webhook-id'),
          'webhook-timestamp': header(req, 'webhook-timestamp'),
          'webhook-signature': header(req, 'webhook-signature'),
        },
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAtMs: Date.now(),
      })
      for (const wake of waiters.splice(0)) wake()
      const status = script.shift() ?? 200
      if (status === 'hang') return
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const actualPort = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${actualPort}/hooks/qrelay`,
    port: actualPort,
    received,
    respondWith: (...statuses) => void script.push(...statuses),
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      while (received.length < count) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`only ${received.length} of ${count} webhooks arrived within ${timeoutMs} ms`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          waiters.push(() => {
            clearTimeout(timer)
            resolve()
          })
        })
      }
      return [...received]
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
