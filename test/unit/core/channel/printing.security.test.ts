/**
 * Channel objects never print a secret: JSON, util.inspect (also with showHidden) and %o show only
 * kind, role, public keys and S's check code. Checked against the fixed vector, whose secrets we know.
 */
import { format, inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { base64, base64nopad, base64urlnopad, hex } from '@scure/base'
import v from '../../../vectors/ecies-msc4108-2024.json' with { type: 'json' }
import { confirmCheckCode } from '../../../../src/core/channel/handshake.ts'
import { encryptMessage } from '../../../../src/core/channel/secure-message.ts'
import { fixedRandom, handshake, unwrap } from './channel-fixture.ts'

const SECRET_HEX = [v.G_secret_hex, v.S_secret_hex, v.shared_secret_hex, v.enc_key_S_hex, v.enc_key_G_hex]
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
const FORBIDDEN: RegExp[] = SECRET_HEX.flatMap((h) => {
  const bytes = hex.decode(h)
  const encodings = [h, base64.encode(bytes), base64nopad.encode(bytes), base64urlnopad.encode(bytes)]
  // Whole encodings plus a 16-character slice of each, in case something prints part of a key.
  const texts = encodings.flatMap((text) => [text, text.slice(8, 24)]).map((t) => new RegExp(escapeRegExp(t), 'i'))
  // How inspect and JSON.stringify show a Uint8Array: its first bytes in decimal.
  const head = [...bytes.slice(0, 6)]
  const raw = [new RegExp(head.join(',\\s*')), new RegExp(head.map((b, i) => `"${i}":${b}`).join(','))]
  return [...texts, ...raw]
})

const leaks = (text: string): string[] => FORBIDDEN.filter((pattern) => pattern.test(text)).map(String)

const renderings = (value: unknown): string[] => [
  JSON.stringify(value),
  JSON.stringify({ wrapped: value }),
  inspect(value),
  inspect(value, { showHidden: true, depth: Infinity }),
  format('%o', value),
  format('%j', value),
  String(value),
]

describe('channel printing', () => {
  const run = handshake(fixedRandom(v.G_secret_hex), fixedRandom(v.S_secret_hex))
  const g2 = unwrap(confirmCheckCode(run.g1, v.check_code_2024))
  const sent = unwrap(encryptMessage(run.s2, '{}')).state
  const objects = {
    g0: run.g0,
    gKey: run.g0.key,
    s1: run.s1,
    g1: run.g1,
    s2: run.s2,
    g2,
    sent,
    secrets: run.s2.secrets,
    spread: { ...run.s2 },
  }

  it.each(Object.entries(objects))('shows no secret in any rendering of %s', (_, value) => {
    for (const text of renderings(value)) expect(leaks(text)).toEqual([])
  })

  it('would catch a key printed raw (control)', () => {
    const naive = { key: hex.decode(v.enc_key_S_hex) }
    for (const text of [JSON.stringify(naive), inspect(naive)]) expect(leaks(text)).not.toEqual([])
  })

  it('shows kind, role, public keys and the check code on S', () => {
    expect(JSON.parse(JSON.stringify(run.s2))).toEqual({
      kind: 'verified',
      role: 'S',
      ourPublicKey: v.Sp_b64,
      theirPublicKey: v.Gp_b64,
      checkCode: '32',
    })
    expect(JSON.parse(JSON.stringify(run.g1))).toEqual({
      kind: 'established',
      role: 'G',
      ourPublicKey: v.Gp_b64,
      theirPublicKey: v.Sp_b64,
    })
    expect(inspect(g2)).toContain(v.Sp_b64)
    expect(inspect(g2)).not.toContain('checkCode')
    expect(inspect(run.g0)).toContain(v.Gp_b64)
  })
})
