/**
 * Runtime-neutral implementations of the platform ports for Cloudflare Workers (and any runtime with
 * Web Crypto and a console): the system clock, Web Crypto random bytes, and a JSON-lines console logger
 * (Workers Logs index JSON written to the console). Only `src/runtime/*` builds them.
 */
import type { Clock, Logger, Random } from '../../ports.ts'

/** Wall clock. On Workers it advances only across I/O, which is all that expiry needs. */
export const systemClock: Clock = { now: () => Date.now() }

// getRandomValues refuses more than 65 536 bytes per call.
const MAX_RANDOM_CHUNK = 65_536

/** Random bytes from Web Crypto's CSPRNG. */
export const webCryptoRandom: Random = {
  bytes: (length) => {
    const out = new Uint8Array(length)
    for (let at = 0; at < length; at += MAX_RANDOM_CHUNK) crypto.getRandomValues(out.subarray(at, at + MAX_RANDOM_CHUNK))
    return out
  },
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const
type Level = Exclude<keyof typeof LEVELS, 'silent'>

/**
 * A logger writing one JSON object per line with `console.log` (`console.error` for errors).
 *
 * @example
 * const logger = consoleLogger(config.server.logLevel)
 * logger.info({ store: 'durable-object' }, 'ready')
 */
export const consoleLogger = (level: keyof typeof LEVELS, base: Record<string, unknown> = { svc: 'qrelay' }): Logger => {
  const threshold = LEVELS[level]
  const write = (at: Level, fields: Record<string, unknown>, message: string): void => {
    if (LEVELS[at] < threshold) return
    const line = JSON.stringify({ level: at, time: new Date().toISOString(), ...base, ...fields, msg: message })
    if (at === 'error') console.error(line)
    else console.log(line)
  }
  return {
    debug: (fields, message) => write('debug', fields, message),
    info: (fields, message) => write('info', fields, message),
    warn: (fields, message) => write('warn', fields, message),
    error: (fields, message) => write('error', fields, message),
    child: (fields) => consoleLogger(level, { ...base, ...fields }),
  }
}
