/**
 * Node implementations of the platform ports: the system clock, the OS random source, and a pino logger.
 * Only `src/runtime/*` builds them.
 */
import nodeCrypto, { createHash, createHmac, randomBytes, randomFillSync } from 'node:crypto'
import { pino } from 'pino'
import type { Clock, Logger, Random } from '../../ports.ts'

/** Wall clock. */
export const systemClock: Clock = { now: () => Date.now() }

const POOL_BYTES = 4096
const POOLED_MAX = 64
let pool = Buffer.alloc(0)
let poolOffset = 0

/**
 * Random bytes from the OS CSPRNG. Small requests (ids, secrets) are cut from a pool filled 4 KiB at
 * a time (one CSPRNG call per request id showed up at a few per cent of a request); each byte is
 * handed out once and zeroed in the pool as it leaves.
 */
export const cryptoRandom: Random = {
  bytes: (length) => {
    if (length > POOLED_MAX) return new Uint8Array(randomBytes(length))
    if (poolOffset + length > pool.length) {
      pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES))
      poolOffset = 0
    }
    const out = new Uint8Array(pool.subarray(poolOffset, poolOffset + length))
    pool.fill(0, poolOffset, poolOffset + length)
    poolOffset += length
    return out
  },
}

type Level = 'debug' | 'info' | 'warn' | 'error'

/**
 * A child logger built on first use: a request-scoped child is made for every request, and building
 * a pino child (which serialises its fields) costs as much as a small request when nothing is logged.
 */
class LazyChild implements Logger {
  #made: pino.Logger | undefined
  readonly #root: pino.Logger
  // The parent and the fields, not a closure over them: a socket's logger lives as long as it does.
  readonly #parent: pino.Logger | LazyChild
  readonly #fields: Record<string, unknown>
  constructor(root: pino.Logger, parent: pino.Logger | LazyChild, fields: Record<string, unknown>) {
    this.#root = root
    this.#parent = parent
    this.#fields = fields
  }
  #pino(): pino.Logger {
    if (this.#made !== undefined) return this.#made
    const parent = this.#parent instanceof LazyChild ? this.#parent.#pino() : this.#parent
    this.#made = parent.child(this.#fields)
    return this.#made
  }
  #log(level: Level, fields: Record<string, unknown>, message: string): void {
    // A child keeps its parent's level, and qrelay never changes a level after start.
    if (!this.#root.isLevelEnabled(level)) return
    this.#pino()[level](fields, message)
  }
  debug(fields: Record<string, unknown>, message: string): void {
    this.#log('debug', fields, message)
  }
  info(fields: Record<string, unknown>, message: string): void {
    this.#log('info', fields, message)
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.#log('warn', fields, message)
  }
  error(fields: Record<string, unknown>, message: string): void {
    this.#log('error', fields, message)
  }
  child(fields: Record<string, unknown>): Logger {
    return new LazyChild(this.#root, this, fields)
  }
}

let stampedMs = Number.NaN
let stamp = ''

/**
 * pino's `isoTime` (`,"time":"<ISO 8601>"`), made once per millisecond: at `info` every request writes
 * a line, and many lines of a busy second share their millisecond. Same text.
 */
const isoTime = (): string => {
  const now = Date.now()
  if (now !== stampedMs) {
    stampedMs = now
    stamp = `,"time":"${new Date(now).toISOString()}"`
  }
  return stamp
}

/**
 * A JSON-lines logger on stdout (pino), or on `destination` (tests). Stdout is written synchronously,
 * as Node's own `process.stdout` writes files and pipes on Linux: pino's default asynchronous stream
 * hands every line (or small batch) to the libuv thread pool, and on a server pinned to one core the
 * thread switches cost more than the write itself (BENCHMARKS.md, "2026-12-06 (session 9)"). A line is
 * also never lost in a crash.
 */
export const pinoLogger = (level: string, destination?: pino.DestinationStream): Logger => {
  const options = { level, base: { svc: 'qrelay' }, timestamp: isoTime }
  const base = pino(options, destination ?? pino.destination({ dest: 1, sync: true }))
  return {
    debug: (fields, message) => base.debug(fields, message),
    info: (fields, message) => base.info(fields, message),
    warn: (fields, message) => base.warn(fields, message),
    error: (fields, message) => base.error(fields, message),
    child: (fields) => new LazyChild(base, base, fields),
  }
}

/** A logger that drops everything (tests and benchmarks). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
}

/**
 * The keyed log hash of `src/core/crypto/secrets.ts` (`redactWith`), on node:crypto's native HMAC:
 * same output, a fraction of the cost on the request path.
 */
export const nodeRedactor =
  (key: Uint8Array) =>
  (value: string): string =>
    // The first 8 bytes as hex (16 characters): a string of its own, not a slice of the whole digest's hex.
    createHmac('sha256', key).update(value).digest().subarray(0, 8).toString('hex')

/**
 * HMAC-SHA-256 on node:crypto (native): the channel-id tag of `src/core/rendezvous/channel-id.ts`,
 * byte for byte the portable one (`test/unit/adapters/node-hmac.test.ts`).
 */
export const nodeHmacSha256 = (key: Uint8Array, data: Uint8Array): Uint8Array => createHmac('sha256', key).update(data).digest()

/** SHA-256 of a text's UTF-8 bytes through a `Hash` object: Node before `crypto.hash` (20.12). */
export const streamedTextSha256 = (text: string): Uint8Array => createHash('sha256').update(text, 'utf8').digest()

// Read off the module object: absent before Node 20.12, where a named import would fail to link.
const oneShotHash = (nodeCrypto as Partial<Pick<typeof nodeCrypto, 'hash'>>).hash

/**
 * SHA-256 of a text's UTF-8 bytes on node:crypto (native, about twice as fast as the portable one here):
 * the write-token hash of `src/core/rendezvous/channel.ts`, byte for byte `portableTextSha256`. One
 * call of `crypto.hash` where Node has it (no `Hash` object per token: a put's ack showed it), else
 * {@link streamedTextSha256}.
 */
export const nodeTextSha256: (text: string) => Uint8Array =
  oneShotHash === undefined ? streamedTextSha256 : (text) => oneShotHash('sha256', text, 'buffer')

/** The pages' browser script for createApp (see page-script.ts). */
export { withPageScript } from './page-script.ts'
