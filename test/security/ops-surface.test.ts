/**
 * Findings 64– (the operator's surface: the CLI, metrics, logs; docs/security/tokens-and-http-input.md):
 * - 64: `qrelay config show` prints every value a secret knob holds masked, the channel-ticket signing
 *   keys (`QRELAY_TICKET_SIGNING_JWKS`, private JWKs) included, and a Redis password however it is spelled.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair } from 'jose'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { KNOBS } from '../../src/config.ts'
import { KNOB_DOCS } from '../../src/config/knob-docs.ts'
import { buildProgram } from '../../src/runtime/cli/main.ts'

const dir = mkdtempSync(join(tmpdir(), 'qrelay-ops-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** What the CLI writes on stdout for `args`, run in this process. */
const stdoutOf = async (args: string[]): Promise<string> => {
  let out = ''
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    return true
  })
  try {
    await buildProgram().parseAsync(args, { from: 'user' })
  } finally {
    write.mockRestore()
  }
  return out
}

describe('finding 64: config show masks every secret', () => {
  it('finding 64: the channel-ticket signing keys are masked, not printed with their private part', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const jwk = await exportJWK(privateKey)
    const file = join(dir, 'jwks.env')
    writeFileSync(file, `QRELAY_TICKET_SIGNING_JWKS='${JSON.stringify({ keys: [jwk] })}'\n`)
    for (const format of [[], ['--json']]) {
      const shown = await stdoutOf(['config', 'show', '--env-file', file, ...format])
      expect(shown).toContain('QRELAY_TICKET_SIGNING_JWKS')
      expect(shown).not.toContain(jwk.d as string)
    }
    expect(JSON.parse(await stdoutOf(['config', 'show', '--env-file', file, '--json'])).QRELAY_TICKET_SIGNING_JWKS).toBe('****')
  })

  it('finding 64: every knob its documentation calls secret is masked', async () => {
    const secret = KNOBS.filter((k) => /\bsecret\b/.test(KNOB_DOCS[k.env] ?? '') && k.env !== 'QRELAY_WEBHOOK_URL')
    expect(secret.map((k) => k.env)).toContain('QRELAY_TICKET_SIGNING_JWKS')
    const file = join(dir, 'secrets.env')
    writeFileSync(file, secret.map((k) => `${k.env}=VALUE-OF-${k.env}`).join('\n'))
    const shown = JSON.parse(await stdoutOf(['config', 'show', '--env-file', file, '--json'])) as Record<string, string>
    for (const k of secret) expect(shown[k.env], k.env).toBe('****')
  })

  it('finding 64: a Redis password with an @ in it is masked whole', async () => {
    const file = join(dir, 'redis.env')
    writeFileSync(file, 'QRELAY_REDIS_URL=redis://qrelay:hunter2@secret@redis.internal:6379/0\n')
    const shown = JSON.parse(await stdoutOf(['config', 'show', '--env-file', file, '--json'])) as Record<string, string>
    expect(shown.QRELAY_REDIS_URL).toBe('redis://****@redis.internal:6379/0')
  })

  it('finding 64: a Redis password given as a query parameter (ioredis reads it) is masked', async () => {
    const file = join(dir, 'redis-query.env')
    writeFileSync(file, 'QRELAY_REDIS_URL=redis://redis.internal:6379/0?password=hunter2&family=6\n')
    const shown = JSON.parse(await stdoutOf(['config', 'show', '--env-file', file, '--json'])) as Record<string, string>
    expect(shown.QRELAY_REDIS_URL).toBe('redis://redis.internal:6379/0?password=****&family=6')
  })
})
