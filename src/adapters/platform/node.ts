/**
 * Node implementations of the platform ports: the system clock, the OS random source, and a pino logger.
 * Only `src/runtime/*` builds them.
 */
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import type { Clock, Logger, Random } from '../../ports.ts'

/** Wall clock. */
export const systemClock: Clock = { now: () => Date.now() }

/** Random bytes from the OS CSPRNG. */
export const cryptoRandom: Random = { bytes: (length) => new Uint8Array(randomBytes(length)) }

/** A JSON-lines logger on stdout (pino). */
export const pinoLogger = (level: string): Logger => {
  const base = pino({ level, base: { svc: 'qrelay' }, timestamp: pino.stdTimeFunctions.isoTime })
  const wrap = (p: pino.Logger): Logger => ({
    debug: (fields, message) => p.debug(fields, message),
    info: (fields, message) => p.info(fields, message),
    warn: (fields, message) => p.warn(fields, message),
    error: (fields, message) => p.error(fields, message),
    child: (fields) => wrap(p.child(fields)),
  })
  return wrap(base)
}

/** A logger that drops everything (tests and benchmarks). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
}
