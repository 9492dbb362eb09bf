/**
 * A TCP proxy on a loopback port that forwards to `target` and holds every chunk, in both
 * directions, for `delayMs` (changeable at run time) before passing it on, in order: a slow network
 * between qrelay and Redis. Closes every connection it made on `close()`.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'

/** A running proxy. */
export interface SlowProxy {
  port: number
  /** The delay added to every chunk from now on. */
  setDelay(ms: number): void
  close(): Promise<void>
}

/** Pipes `from` to `to`, each chunk after the current delay, keeping the order. */
const delayedPipe = (from: Socket, to: Socket, delay: () => number): void => {
  let lastDueMs = 0
  from.on('data', (chunk: Buffer) => {
    // Never before the previous chunk: a shorter delay set later must not reorder the stream.
    const dueMs = Math.max(Date.now() + delay(), lastDueMs)
    lastDueMs = dueMs
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk)
    }, dueMs - Date.now())
  })
  from.on('close', () => setTimeout(() => to.destroy(), Math.max(0, lastDueMs - Date.now())))
  from.on('error', () => to.destroy())
}

/**
 * Starts the proxy.
 *
 * @example
 * const proxy = await slowProxy(6379, 200) // redis://127.0.0.1:${proxy.port}
 */
export const slowProxy = async (targetPort: number, delayMs: number): Promise<SlowProxy> => {
  let delay = delayMs
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
    }
    delayedPipe(client, upstream, () => delay)
    delayedPipe(upstream, client, () => delay)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return {
    port: (server.address() as { port: number }).port,
    setDelay: (ms) => {
      delay = ms
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
