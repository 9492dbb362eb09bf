/**
 * The Node logger: pino JSON lines on stdout, written once per event-loop turn, request-scoped children
 * made only when something is logged, and a direct writer for lines whose fields are known in advance
 * (the access line of every request), byte for byte what pino writes for them.
 */
import { pino } from 'pino'
import type { Logger } from '../../ports.ts'

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

const NODE_MAJOR = Number(process.versions.node.split('.')[0])
/** The longest string pino escapes itself; longer ones go to JSON.stringify (pino's `asString`). */
const PINO_OWN_ESCAPE_MAX = 100

/**
 * A string as pino writes a string value (its `asString`): on Node before 25, up to 100 characters
 * without control characters get only `"` and `\` escaped (a lone surrogate stays as it is), anything
 * else is JSON.stringify's; from Node 25 on, always JSON.stringify's.
 */
export const pinoJsonString = (text: string): string => {
  if (NODE_MAJOR >= 25 || text.length > PINO_OWN_ESCAPE_MAX) return JSON.stringify(text)
  let plain = true
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 32) return JSON.stringify(text)
    if (code === 34 || code === 92) plain = false
  }
  return plain ? `"${text}"` : `"${text.replace(/["\\]/g, '\\$&')}"`
}

/** A number as pino writes a number value: not finite is `null`. */
export const pinoJsonNumber = (value: number): string => (Number.isFinite(value) ? String(value) : 'null')

/**
 * Writes one line of `level` whose fields are already JSON text (`,"name":value` each, as
 * {@link pinoJsonString} and {@link pinoJsonNumber} write values), after the logger's own level, time
 * and base fields and before the message: the line pino writes for the same fields in the same order.
 */
export type FieldsLineWriter = (level: 'info' | 'error', fieldsJson: string, message: string) => void

const fieldsWriters = new WeakMap<Logger, FieldsLineWriter>()

/** The direct line writer of a logger made by {@link pinoLogger} (none for other loggers). */
export const fieldsLineWriterOf = (logger: Logger): FieldsLineWriter | undefined => fieldsWriters.get(logger)

/** Text buffered at most before it is written without waiting for the end of the turn. */
const MAX_BUFFERED_CHARS = 64 * 1024

/** Something lines can be written to (a pino destination). */
interface LineSink {
  write(text: string): unknown
}

/**
 * Lines gathered during one event-loop turn and written to `sink` in one call once the turn is over
 * (`setImmediate`), or at once past 64 KiB, or by `flush()`. The caller flushes on process exit.
 */
export const turnBuffered = (sink: LineSink): LineSink & { flush(): void } => {
  let pending = ''
  let scheduled = false
  const flush = (): void => {
    scheduled = false
    if (pending === '') return
    const text = pending
    pending = ''
    sink.write(text)
  }
  return {
    write(line) {
      pending += line
      if (pending.length >= MAX_BUFFERED_CHARS) flush()
      else if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    },
    flush,
  }
}

let stdoutLines: LineSink | undefined

/**
 * Standard output for log lines, one per process: written synchronously (as Node's own
 * `process.stdout` writes files and pipes on Linux), a turn's lines in one write, and whatever is
 * still buffered written on the process's 'exit' (which also follows `process.exit()`, the end of
 * work and an uncaught exception). Only a kill the process cannot handle (SIGKILL, an unhandled
 * fatal signal, a native crash) loses the lines of the turn it interrupts.
 */
const stdoutDestination = (): LineSink => {
  if (stdoutLines === undefined) {
    const lines = turnBuffered(pino.destination({ dest: 1, sync: true }))
    process.on('exit', () => lines.flush())
    // Only `write` for pino: it would take a `flush` as its own (`logger.flush(callback)`).
    stdoutLines = { write: (line) => lines.write(line) }
  }
  return stdoutLines
}

const LEVEL_NUMBERS = { info: 30, error: 50 } as const
const BASE = { svc: 'qrelay' }
const BASE_JSON = `,"svc":${pinoJsonString(BASE.svc)}`

/**
 * A JSON-lines logger on stdout (pino), or on `destination` (tests, the CLI's stderr). On stdout the
 * lines of a turn are written together once it is over, in one synchronous write: pino's default
 * asynchronous stream hands every line (or small batch) to the libuv thread pool, and on a server
 * pinned to one core the thread switches cost more than the write itself (BENCHMARKS.md,
 * "2026-12-06 (session 9)"); one write per line cost a system call per request.
 */
export const pinoLogger = (level: string, destination?: pino.DestinationStream): Logger => {
  const options = { level, base: BASE, timestamp: isoTime }
  const stream = destination ?? stdoutDestination()
  const base = pino(options, stream as pino.DestinationStream)
  const logger: Logger = {
    debug: (fields, message) => base.debug(fields, message),
    info: (fields, message) => base.info(fields, message),
    warn: (fields, message) => base.warn(fields, message),
    error: (fields, message) => base.error(fields, message),
    child: (fields) => new LazyChild(base, base, fields),
  }
  fieldsWriters.set(logger, (lineLevel, fieldsJson, message) => {
    if (!base.isLevelEnabled(lineLevel)) return
    stream.write(`{"level":${LEVEL_NUMBERS[lineLevel]}${isoTime()}${BASE_JSON}${fieldsJson},"msg":${pinoJsonString(message)}}\n`)
  })
  return logger
}

/** A logger that drops everything (tests and benchmarks). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
}
