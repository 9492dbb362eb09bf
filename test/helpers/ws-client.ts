/**
 * A WebSocket test client (`ws`) for the relay: JSON frames in a queue, `next()` with a bounded wait,
 * and the close code and reason as a promise. Every wait is bounded, so a missing frame fails the test
 * instead of hanging it.
 */
import WebSocket from 'ws'

/** A frame the server sent, parsed. */
export type Frame = Record<string, unknown> & { type: string }

/** How the socket closed, as the client saw it. */
export interface Closed {
  code: number
  reason: string
}

/** An open test socket. */
export interface TestSocket {
  raw: WebSocket
  /** Sends `frame` as JSON text. */
  send(frame: unknown): void
  /** The next frame, or a rejection after `timeoutMs` or when the socket closes first. */
  next(timeoutMs?: number): Promise<Frame>
  /** Resolves once closed (the promise never rejects). */
  closed: Promise<Closed>
  /** Resolves with the close, or rejects after `timeoutMs` if the socket is still open. */
  closedWithin(timeoutMs?: number): Promise<Closed>
  /** Frames received and not yet taken by `next()`. */
  pending(): Frame[]
  close(): void
}

/** The WebSocket URL of channel `id` on the server at `base` (an http:// URL). */
export const wsUrl = (base: string, id: string): string => `${base.replace(/^http/, 'ws')}/v1/rendezvous/${id}/ws`

const bounded = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Opens a socket to `url` and resolves once it is open.
 *
 * @example
 * const ws = await openSocket(wsUrl(server.url, id))
 * ws.send({ type: 'hello' })
 * const welcome = await ws.next()
 */
export const openSocket = async (url: string, timeoutMs = 5000): Promise<TestSocket> => {
  const raw = new WebSocket(url)
  const frames: Frame[] = []
  const waiters: Array<{ resolve: (f: Frame) => void; reject: (e: Error) => void }> = []
  let closedWith: Closed | null = null
  const closed = new Promise<Closed>((resolve) => {
    raw.on('close', (code, reason) => {
      closedWith = { code, reason: reason.toString() }
      for (const waiter of waiters.splice(0)) waiter.reject(new Error(`socket closed ${code} ${closedWith.reason}`))
      resolve(closedWith)
    })
  })
  raw.on('error', () => {}) // a close always follows
  raw.on('message', (data, isBinary) => {
    const frame = JSON.parse(isBinary ? '{"type":"binary"}' : data.toString()) as Frame
    const waiter = waiters.shift()
    if (waiter !== undefined) waiter.resolve(frame)
    else frames.push(frame)
  })
  await bounded(
    new Promise<void>((resolve, reject) => {
      raw.once('open', () => resolve())
      raw.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
      raw.once('close', (code) => reject(new Error(`closed ${code} before opening`)))
    }),
    timeoutMs,
    'the socket to open',
  )
  return {
    raw,
    send: (frame) => raw.send(JSON.stringify(frame)),
    next: (ms = 5000) => {
      const queued = frames.shift()
      if (queued !== undefined) return Promise.resolve(queued)
      if (closedWith !== null) return Promise.reject(new Error(`socket closed ${closedWith.code} ${closedWith.reason}`))
      return new Promise<Frame>((resolve, reject) => {
        const waiter = {
          resolve: (frame: Frame) => {
            clearTimeout(timer)
            resolve(frame)
          },
          reject: (error: Error) => {
            clearTimeout(timer)
            reject(error)
          },
        }
        // On timeout the waiter leaves the queue, so a later frame goes to the next `next()`.
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1)
          reject(new Error(`timed out after ${ms} ms waiting for a frame`))
        }, ms)
        waiters.push(waiter)
      })
    },
    closed,
    closedWithin: (ms = 5000) => bounded(closed, ms, 'the socket to close'),
    pending: () => [...frames],
    close: () => raw.close(),
  }
}

/**
 * Opens a socket to channel `id` and says hello (with `secret`, or none to claim the channel);
 * resolves with the socket and its welcome frame.
 */
export const join = async (base: string, id: string, secret?: string): Promise<{ ws: TestSocket; welcome: Frame }> => {
  const ws = await openSocket(wsUrl(base, id))
  ws.send(secret === undefined ? { type: 'hello' } : { type: 'hello', secret })
  const welcome = await ws.next()
  if (welcome.type !== 'welcome') throw new Error(`expected a welcome, got ${welcome.type}`)
  return { ws, welcome }
}
