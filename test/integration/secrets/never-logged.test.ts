/**
 * Secrets never logged (issue #11), memory + SQLite: every flow on a real server with a capturing
 * logger at debug level (see never-logged-scenario.ts), and a forced 5xx from a store that throws.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import type { EphemeralStore } from '../../../src/ports.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { capturingLogger, expectNoSecrets, runSecretsScenario, SecretBag } from './never-logged-scenario.ts'

describe('secrets never logged: memory + SQLite', () => {
  it('no password, token, code, channel id or secret in any debug log line, store key, error body or webhook', async () => {
    expectNoSecrets(await runSecretsScenario('memory'))
  }, 60_000)

  it('a forced 5xx (a store that throws) logs the failure without the request secrets, and answers the generic body', async () => {
    const lines: string[] = []
    const bearer = 'ForcedFiveHundredTokenIdAA.forcedFiveHundredSecretPart0123456789abcdefgh'
    const throwing = (clock: Parameters<typeof memoryStore>[0]['clock']): EphemeralStore => {
      const inner = memoryStore({ clock, sweepIntervalMs: 0 })
      const boom = (): never => {
        throw new Error('Connection is closed.')
      }
      return { ...inner, channels: { ...inner.channels, get: boom, takeOnce: boom }, kv: { ...inner.kv, get: boom } }
    }
    const t = makeApp({ env: { QRELAY_LOG_LEVEL: 'debug' }, logger: capturingLogger(lines), store: throwing })
    // A real channel (its id carries the server's MAC, so the read reaches the store, which throws).
    const created = await t.app.request('/_matrix/client/unstable/io.element.msc4388/rendezvous', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: 'x' }),
    })
    expect(created.status).toBe(200)
    const channelId = ((await created.json()) as { id: string }).id
    const res = await t.app.request(`/_matrix/client/unstable/io.element.msc4388/rendezvous/${channelId}`, {
      headers: { authorization: `Bearer ${bearer}` },
    })
    expect(res.status).toBe(500)
    const body = await res.text()
    expect(JSON.parse(body)).toEqual({ errcode: 'M_UNKNOWN', error: 'internal error', qrelay_code: 'INTERNAL' })
    const secrets = new SecretBag()
    secrets.add('bearer', bearer)
    secrets.add('channel id', channelId)
    expect(lines.some((l) => l.includes('"level":"error"'))).toBe(true)
    const leaks = [...lines, body].flatMap((text) => secrets.findIn(text).map((s) => `${s} in ${text.slice(0, 300)}`))
    expect(leaks).toEqual([])
  })
})
