import { describe, expect, it } from 'vitest'
import { ConfigError, configTable, KNOBS, parseConfig } from '../../src/config.ts'
import { KNOB_DOCS } from '../../src/config/knob-docs.ts'
import { readFileSync } from 'node:fs'

describe('parseConfig', () => {
  it('gives every knob its default', () => {
    const config = parseConfig({})
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080 })
    expect(config.storage.kind).toBe('memory')
    expect(config.rendezvous).toMatchObject({
      msc4108TtlSeconds: 120,
      msc4388TtlSeconds: 120,
      nativeTtlSeconds: 120,
      maxPayloadBytes: 4096,
    })
    expect(config.rateLimit.createPerClient).toEqual({ limit: 30, windowMs: 60_000 })
  })

  it('reads QRELAY_* variables', () => {
    const config = parseConfig({
      QRELAY_PORT: '9000',
      QRELAY_STORE: 'redis',
      QRELAY_REDIS_URL: 'redis://127.0.0.1:6379',
      QRELAY_RATE_READS_PER_CHANNEL: '5/2m',
    })
    expect(config.server.port).toBe(9000)
    expect(config.storage).toMatchObject({ kind: 'redis', redisUrl: 'redis://127.0.0.1:6379' })
    expect(config.rateLimit.readsPerChannel).toEqual({ limit: 5, windowMs: 120_000 })
  })

  it('reports every bad value at once', () => {
    try {
      parseConfig({
        QRELAY_PORT: 'abc',
        QRELAY_STORE: 'disk',
        QRELAY_MAX_PAYLOAD_BYTES: '1',
        QRELAY_TYPO: 'x',
        QRELAY_TRUSTED_PROXIES: 'zz',
      })
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      const problems = (error as ConfigError).problems.join('\n')
      for (const name of ['QRELAY_PORT', 'QRELAY_STORE', 'QRELAY_MAX_PAYLOAD_BYTES', 'QRELAY_TYPO', 'QRELAY_TRUSTED_PROXIES']) {
        expect(problems).toContain(name)
      }
    }
  })

  it('requires a Redis URL for the Redis store', () => {
    expect(() => parseConfig({ QRELAY_STORE: 'redis' })).toThrow(/QRELAY_REDIS_URL/)
  })

  it('takes a sealing keyring and refuses a bad one without echoing it', () => {
    const good = `k2:${'ab'.repeat(32)},k1:${'cd'.repeat(32)}`
    expect(parseConfig({ QRELAY_SECRETS_KEYS: good }).auth.secretsKeys).toBe(good)
    expect(parseConfig({}).auth.secretsKeys).toBeUndefined()
    const leaked = 'ef'.repeat(32)
    try {
      parseConfig({ QRELAY_SECRETS_KEYS: leaked })
      expect.unreachable()
    } catch (error) {
      expect(String((error as ConfigError).problems)).toMatch(/QRELAY_SECRETS_KEYS/)
      expect(String((error as ConfigError).problems)).not.toContain(leaked.slice(0, 12))
    }
  })

  it('returns a frozen object', () => {
    const config = parseConfig({})
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.server)).toBe(true)
  })

  it('documents every knob in docs/configuration.md', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')
    for (const knob of KNOBS) {
      expect(KNOB_DOCS[knob.env]?.length, `${knob.env} has no doc line in src/config/knob-docs.ts`).toBeGreaterThan(10)
      expect(doc, `${knob.env} missing from docs/configuration.md`).toContain(knob.env)
    }
  })

  it('has a doc line for no variable that is not a knob', () => {
    const envs = new Set(KNOBS.map((knob) => knob.env))
    expect(Object.keys(KNOB_DOCS).filter((env) => !envs.has(env as `QRELAY_${string}`))).toEqual([])
  })

  it('has the table the generator writes into docs/configuration.md (node --import tsx scripts/config-table.ts)', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')
    const start = doc.indexOf('\n', doc.indexOf('<!-- config-table:start')) + 1
    expect(doc.slice(start, doc.indexOf('<!-- config-table:end -->'))).toBe(`${configTable(KNOBS)}\n`)
  })
})
