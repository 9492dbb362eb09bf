/**
 * The Node logger's own parts: strings and numbers as pino writes them, the direct line writer (byte
 * for byte pino's line), and stdout lines buffered per event-loop turn and written on exit.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { pino } from 'pino'
import { fieldsLineWriterOf, pinoJsonNumber, pinoJsonString, pinoLogger, turnBuffered } from '../../../src/adapters/platform/node-log.ts'

/** Strings pino handles on more than one path: quotes, backslashes, control characters, unicode, lone surrogates, length 100/101. */
const TRICKY = [
  '',
  'plain',
  'say "hi"',
  'back\\slash',
  '"\\"\\',
  'tab\there',
  'new\nline',
  '\u0000nul',
  '\u001f',
  '\u007fdel',
  'é✓😀 unicode',
  '\u2028\u2029 separators',
  'lone \ud800 high',
  'lone \udc00 low',
  'reversed \udc00\ud800 pair',
  '"quoted" and \ud83d alone',
  'x'.repeat(100),
  `${'"'.repeat(50)}${'\\'.repeat(50)}`,
  'x'.repeat(101),
  `${'y'.repeat(101)}\ud800`,
  `${'z'.repeat(99)}\n`,
]

/** Every line a pino instance with qrelay's options writes, as raw text. */
const rawCapture = () => {
  const chunks: string[] = []
  return { chunks, destination: { write: (text: string) => void chunks.push(text) } }
}

describe('pinoJsonString and pinoJsonNumber', () => {
  it('write a string value exactly as pino does', () => {
    for (const text of TRICKY) {
      const { chunks, destination } = rawCapture()
      pino({ base: null, timestamp: false }, destination).info({ v: text })
      expect(chunks[0]).toBe(`{"level":30,"v":${pinoJsonString(text)}}\n`)
    }
  })

  it('write a number value exactly as pino does', () => {
    for (const value of [0, -0, 200, 1.5, 0.000123, 1e21, 123456.789, Number.NaN, Number.POSITIVE_INFINITY]) {
      const { chunks, destination } = rawCapture()
      pino({ base: null, timestamp: false }, destination).info({ v: value })
      expect(chunks[0]).toBe(`{"level":30,"v":${pinoJsonNumber(value)}}\n`)
    }
  })
})

describe('the direct line writer of pinoLogger', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2026-12-06T18:00:00.123Z'))
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('writes the line pino writes for the same fields, byte for byte', () => {
    for (const text of TRICKY) {
      const direct = rawCapture()
      const viaPino = rawCapture()
      const fields = { req: text, status: 503, ms: 1.25, client: text, reason: text }
      const json = `,"req":${pinoJsonString(text)},"status":503,"ms":1.25,"client":${pinoJsonString(text)},"reason":${pinoJsonString(text)}`
      fieldsLineWriterOf(pinoLogger('info', direct.destination))!('info', json, 'request')
      pinoLogger('info', viaPino.destination).info(fields, 'request')
      fieldsLineWriterOf(pinoLogger('info', direct.destination))!('error', json, text)
      pinoLogger('info', viaPino.destination).error(fields, text)
      expect(direct.chunks).toEqual(viaPino.chunks)
    }
  })

  it('keeps to the logger level', () => {
    const { chunks, destination } = rawCapture()
    const write = fieldsLineWriterOf(pinoLogger('warn', destination))!
    write('info', ',"a":1', 'request')
    write('error', ',"a":2', 'request')
    expect(chunks).toHaveLength(1)
    expect(fieldsLineWriterOf(pinoLogger('silent', destination))).toBeDefined()
    fieldsLineWriterOf(pinoLogger('silent', destination))!('error', ',"a":3', 'request')
    expect(chunks).toHaveLength(1)
  })

  it('is not there for other loggers', () => {
    const other = { debug() {}, info() {}, warn() {}, error() {}, child: () => other }
    expect(fieldsLineWriterOf(other)).toBeUndefined()
  })
})

describe('turnBuffered', () => {
  it('writes the lines of a turn in one write once the turn is over', async () => {
    const writes: string[] = []
    const lines = turnBuffered({ write: (text) => writes.push(text) })
    lines.write('a\n')
    lines.write('b\n')
    expect(writes).toEqual([])
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toEqual(['a\nb\n'])
    lines.write('c\n')
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toEqual(['a\nb\n', 'c\n'])
  })

  it('writes at once past 64 KiB, and on flush', async () => {
    const writes: string[] = []
    const lines = turnBuffered({ write: (text) => writes.push(text) })
    const big = `${'x'.repeat(40 * 1024)}\n`
    lines.write(big)
    expect(writes).toEqual([])
    lines.write(big)
    expect(writes).toEqual([big + big])
    lines.write('tail\n')
    lines.flush()
    expect(writes).toEqual([big + big, 'tail\n'])
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toHaveLength(2)
  })
})

describe('pinoLogger on stdout', () => {
  const moduleUrl = new URL('../../../src/adapters/platform/node-log.ts', import.meta.url).href
  const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url))
  /** Runs a child that logs two lines in one turn and then ends as `end` says; its stdout. */
  const run = (end: string) => {
    const script = `
      const { pinoLogger } = await import(${JSON.stringify(moduleUrl)})
      const logger = pinoLogger('info')
      logger.info({ n: 1 }, 'first')
      logger.child({ req: 'r' }).info({ n: 2 }, 'second')
      ${end}
    `
    const child = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 })
    return { status: child.status, lines: child.stdout.split('\n').filter((line) => line !== '') }
  }

  it.each([
    ['at the normal end', '', 0],
    ['on process.exit() in the same turn', 'process.exit(3)', 3],
    ['on an uncaught exception in the same turn', "throw new Error('boom')", 1],
    ['on an unhandled rejection', "await Promise.reject(new Error('boom'))", 1],
  ])('loses no line %s', (_name, end, status) => {
    const result = run(end)
    expect(result.status).toBe(status)
    expect(result.lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['first', 'second'])
  })
})
