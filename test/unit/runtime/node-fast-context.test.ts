/**
 * The fast paths' access line: written straight from its known fields on pino's own logger, it must be
 * byte for byte the line pino writes for the same fields object (the path any other logger takes).
 */
import type { IncomingMessage } from 'node:http'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { pinoLogger } from '../../../src/adapters/platform/node.ts'
import type { Logger } from '../../../src/ports.ts'
import { fastContexts } from '../../../src/runtime/node-fast-context.ts'
import type { Services } from '../../../src/services/services.ts'

/** Enough of the services for the request contexts: logging at `level`, no proxy, no metrics. */
const servicesWith = (logger: Logger, level: string): Services =>
  ({
    config: { server: { logLevel: level, trustedProxyHeader: undefined, trustedProxies: [] } },
    logger,
    random: { bytes: (n: number) => new Uint8Array(n).fill(7) },
    metrics: { enabled: false },
  }) as unknown as Services

const incoming = (address: string): IncomingMessage => ({ headers: {}, socket: { remoteAddress: address } }) as unknown as IncomingMessage

const TRICKY = ['plain', 'say "hi"', 'back\\slash', 'tab\tnew\nline\u0000', 'é✓😀', 'lone \ud800', 'x'.repeat(101), '"'.repeat(100)]

/** The raw text two fast contexts write for the same request: one on pino's logger, one on a plain wrapper of it. */
const bothWays = (level: string, exercise: (contexts: ReturnType<typeof fastContexts>) => void): [string[], string[]] => {
  const direct: string[] = []
  const viaPino: string[] = []
  const pinoOwn = pinoLogger(level, { write: (text: string) => void direct.push(text) })
  const other = pinoLogger(level, { write: (text: string) => void viaPino.push(text) })
  // Not pino's own logger object: the fast context builds a fields object and pino writes it.
  const wrapper: Logger = {
    debug: (f, m) => other.debug(f, m),
    info: (f, m) => other.info(f, m),
    warn: (f, m) => other.warn(f, m),
    error: (f, m) => other.error(f, m),
    child: (f) => other.child(f),
  }
  const hash = (id: string) => `h:${id}`
  exercise(fastContexts(servicesWith(pinoOwn, level), hash))
  exercise(fastContexts(servicesWith(wrapper, level), hash))
  return [direct, viaPino]
}

describe('the fast access line', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2026-12-06T18:00:00.007Z'))
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('is byte for byte the line pino writes, for answers, refusals and failures with tricky texts', () => {
    const [direct, viaPino] = bothWays('info', (contexts) => {
      for (const text of TRICKY) {
        for (const status of [200, 404, 429, 500, 503]) {
          const context = contexts.begin(incoming('::ffff:10.1.2.3'), text, `/route/${text}`)
          if (status !== 404) context.channelId = text
          if (status === 429 || status === 503) context.refusal = { code: text, reason: status === 429 ? text : undefined }
          contexts.finish(context, status, () => 0.125, undefined)
        }
      }
    })
    expect(direct).toHaveLength(TRICKY.length * 5)
    expect(direct).toEqual(viaPino)
  })

  it('writes only failures below info, and nothing when silent, as pino would', () => {
    for (const level of ['warn', 'silent', 'debug']) {
      const [direct, viaPino] = bothWays(level, (contexts) => {
        for (const status of [200, 400, 500])
          contexts.finish(contexts.begin(incoming('127.0.0.1'), 'GET', '/r'), status, () => 1, undefined)
      })
      expect(direct).toEqual(viaPino)
      expect(direct).toHaveLength(level === 'warn' ? 1 : level === 'silent' ? 0 : 3)
    }
  })

  it('writes a request id of its own and the client address', () => {
    const [direct] = bothWays('info', (contexts) =>
      contexts.finish(contexts.begin(incoming('127.0.0.1'), 'GET', '/r'), 200, () => 2, undefined),
    )
    expect(JSON.parse(direct[0]!)).toMatchObject({ level: 30, svc: 'qrelay', req: 'BwcHBwcHBwcH', client: '127.0.0.1', status: 200, ms: 2 })
  })
})
