/**
 * The Node platform adapters: pooled CSPRNG bytes and the pino logger whose request-scoped children are
 * built only when something is logged.
 */
import { describe, expect, it } from 'vitest'
import { cryptoRandom, pinoLogger } from '../../../src/adapters/platform/node.ts'

const capture = () => {
  const lines: Record<string, unknown>[] = []
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } }
}

describe('cryptoRandom', () => {
  it('returns fresh arrays of the asked length when small and large requests mix', () => {
    for (const length of [0, 1, 9, 16, 32, 64, 65, 100, 5000]) {
      const bytes = cryptoRandom.bytes(length)
      expect(bytes).toBeInstanceOf(Uint8Array)
      expect(bytes.length).toBe(length)
      expect(bytes.byteOffset).toBe(0)
      expect(bytes.buffer.byteLength).toBe(length)
    }
  })

  it('never hands out the same bytes twice when many draws cross pool refills', () => {
    const seen = new Set<string>()
    // 2 000 draws of 16 bytes span about eight 4 KiB pools.
    for (let i = 0; i < 2000; i++) seen.add(Buffer.from(cryptoRandom.bytes(16)).toString('hex'))
    expect(seen.size).toBe(2000)
  })

  it('keeps a returned array intact when later draws happen', () => {
    const first = cryptoRandom.bytes(32)
    const copy = Uint8Array.from(first)
    for (let i = 0; i < 300; i++) cryptoRandom.bytes(32)
    expect(first).toEqual(copy)
  })
})

describe('pinoLogger', () => {
  it('writes child lines with the bindings of every ancestor when the level is enabled', () => {
    const { lines, destination } = capture()
    const root = pinoLogger('info', destination)
    const child = root.child({ req: 'r1' })
    const grandchild = child.child({ part: 'p' })
    child.info({ status: 200 }, 'request')
    grandchild.warn({ n: 1 }, 'deeper')
    child.debug({ hidden: true }, 'below the level')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({ svc: 'qrelay', req: 'r1', status: 200, msg: 'request', level: 30 })
    expect(lines[1]).toMatchObject({ svc: 'qrelay', req: 'r1', part: 'p', n: 1, msg: 'deeper', level: 40 })
    expect(typeof lines[0]!.time).toBe('string')
  })

  it('writes nothing from children when the level is silent', () => {
    const { lines, destination } = capture()
    const root = pinoLogger('silent', destination)
    const child = root.child({ req: 'r1' })
    child.error({ status: 500 }, 'request')
    child.child({ more: 1 }).error({}, 'x')
    root.error({}, 'y')
    expect(lines).toEqual([])
  })

  it('writes the same line from a child that logs twice', () => {
    const { lines, destination } = capture()
    const child = pinoLogger('debug', destination).child({ req: 'r2' })
    child.debug({ a: 1 }, 'one')
    child.error({ a: 2 }, 'two')
    expect(lines.map((l) => [l.req, l.a, l.msg])).toEqual([
      ['r2', 1, 'one'],
      ['r2', 2, 'two'],
    ])
  })
})

describe('nodeRedactor', () => {
  it('gives exactly the core keyed hash', async () => {
    const { nodeRedactor } = await import('../../../src/adapters/platform/node.ts')
    const { redactWith } = await import('../../../src/core/crypto/secrets.ts')
    const key = new Uint8Array(32).map((_, i) => i * 3)
    for (const value of ['', 'channel-id', 'é✓😀', 'x'.repeat(500)]) expect(nodeRedactor(key)(value)).toBe(redactWith(key)(value))
  })
})
