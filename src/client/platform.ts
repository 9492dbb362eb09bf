/**
 * What the SDK takes from its host, with defaults that work in browsers, Workers and Node 20+: Web
 * Crypto randomness, the wall clock, and an abortable sleep. No `node:` import, so the same code runs
 * everywhere; tests pass their own.
 */
import type { Random } from '../ports.ts'
import { ClientError } from './errors.ts'

// getRandomValues refuses more than 65 536 bytes at a time.
const RANDOM_CHUNK_BYTES = 65_536

/**
 * Randomness from Web Crypto (`globalThis.crypto.getRandomValues`).
 *
 * @example
 * const key = webRandom().bytes(32)
 */
export const webRandom = (): Random => ({
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i += RANDOM_CHUNK_BYTES) {
      crypto.getRandomValues(out.subarray(i, Math.min(length, i + RANDOM_CHUNK_BYTES)))
    }
    return out
  },
})

/** The wall clock, in ms. */
export const systemNow = (): number => Date.now()

/** Throws CANCELLED when `signal` has fired. */
export const throwIfCancelled = (signal: AbortSignal | undefined): void => {
  if (signal?.aborted === true) {
    throw new ClientError('CANCELLED', { detail: 'cancelled by the caller', cause: signal.reason })
  }
}

/**
 * Resolves after `ms`, or rejects with CANCELLED as soon as `signal` fires.
 *
 * @example
 * await sleep(1000, controller.signal)
 */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new ClientError('CANCELLED', { detail: 'cancelled by the caller', cause: signal.reason }))
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(new ClientError('CANCELLED', { detail: 'cancelled by the caller', cause: signal?.reason }))
    }
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      },
      Math.max(0, ms),
    )
    signal?.addEventListener('abort', onAbort, { once: true })
  })

/**
 * Resolves when the function handed to `register` is called, after `ms`, or when `signal` aborts,
 * whichever comes first; never rejects (the caller checks why it woke).
 *
 * @example
 * await wakeWithin(left, signal, (wake) => listeners.push(wake))
 */
export const wakeWithin = (ms: number, signal: AbortSignal | undefined, register: (wake: () => void) => void): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
    register(done)
  })

/** The base URL without trailing slashes, refusing anything but an absolute http(s) URL. */
export const normalizeBaseUrl = (baseUrl: string): string => {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    // Not swallowed: the URL parser throws only on text that is not a URL, rethrown with a clear message.
    throw new TypeError('baseUrl must be an absolute http(s) URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError('baseUrl must be an absolute http(s) URL')
  }
  return url.href.replace(/\/+$/, '')
}

/** What the SDK needs of a WebSocket (the browser's, or the `ws` package's on Node 20). */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  // biome-ignore lint/suspicious/noExplicitAny: the browser's and the ws package's event types differ; each listener declares the fields it reads
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: any) => void): void
}

/** A WebSocket constructor. */
export type WebSocketConstructor = new (url: string) => WebSocketLike
