/**
 * The shared MSC4108 (2024) known-answer vector, reproduced byte for byte: public keys, shared
 * secret, EncKey_S, EncKey_G, check bytes and code, and both handshake messages.
 */
import { hkdfSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { base64urlnopad, hex } from '@scure/base'
import v from '../../../vectors/ecies-msc4108-2024.json' with { type: 'json' }
import { decodeBase64, encodeBase64 } from '../../../../src/core/channel/base64.ts'
import { deriveChannelBinding } from '../../../../src/core/channel/channel-binding.ts'
import { checkCodeDigits } from '../../../../src/core/channel/check-code.ts'
import { channelInfo, deriveChannelKeys } from '../../../../src/core/channel/kdf.ts'
import { EphemeralKey, agreeX25519 } from '../../../../src/core/channel/keys.ts'
import { confirmCheckCode } from '../../../../src/core/channel/handshake.ts'
import { fixedRandom, handshake, unwrap } from './channel-fixture.ts'

const gp = decodeBase64(v.Gp_b64) as Uint8Array
const sp = decodeBase64(v.Sp_b64) as Uint8Array

describe('MSC4108 2024 ECIES vector', () => {
  it('derives both public keys from the fixed secrets', () => {
    expect(EphemeralKey.generate(fixedRandom(v.G_secret_hex)).publicKeyBase64).toBe(v.Gp_b64)
    expect(EphemeralKey.generate(fixedRandom(v.S_secret_hex)).publicKeyBase64).toBe(v.Sp_b64)
  })

  it('agrees on the shared secret from both sides', () => {
    expect(hex.encode(unwrap(agreeX25519(hex.decode(v.G_secret_hex), sp)))).toBe(v.shared_secret_hex)
    expect(hex.encode(unwrap(agreeX25519(hex.decode(v.S_secret_hex), gp)))).toBe(v.shared_secret_hex)
  })

  it('derives EncKey_S, EncKey_G and the check bytes', () => {
    const keys = deriveChannelKeys(hex.decode(v.shared_secret_hex), gp, sp)
    expect(hex.encode(keys.encKeyS)).toBe(v.enc_key_S_hex)
    expect(hex.encode(keys.encKeyG)).toBe(v.enc_key_G_hex)
    expect(hex.encode(keys.checkBytes)).toBe(v.check_bytes_hex)
    expect(checkCodeDigits(keys.checkBytes)).toBe(v.check_code_2024)
  })

  it('writes the info strings with G first in unpadded base64', () => {
    expect(channelInfo('MATRIX_QR_CODE_LOGIN_CHECKCODE', gp, sp)).toBe(`MATRIX_QR_CODE_LOGIN_CHECKCODE|${v.Gp_b64}|${v.Sp_b64}`)
  })

  it('produces the LoginInitiate and LoginOk messages and check code of the vector', () => {
    const run = handshake(fixedRandom(v.G_secret_hex), fixedRandom(v.S_secret_hex))
    expect(run.g0.ourPublicKey).toBe(v.Gp_b64)
    expect(run.initiate).toBe(v.login_initiate_message)
    expect(run.ok).toBe(v.login_ok_message)
    expect(run.s2.checkCode).toBe(v.check_code_2024)
    expect(unwrap(confirmCheckCode(run.g1, v.check_code_2024)).kind).toBe('verified')
  })

  it('derives the channel binding as HKDF-SHA-512 under its own label', () => {
    const info = `QRELAY_CHANNEL_BINDING|${v.Gp_b64}|${v.Sp_b64}`
    const expected = hkdfSync('sha512', hex.decode(v.shared_secret_hex), new Uint8Array(0), new TextEncoder().encode(info), 32)
    const binding = deriveChannelBinding(hex.decode(v.shared_secret_hex), gp, sp)
    expect(binding).toBe(base64urlnopad.encode(new Uint8Array(expected)))
    const run = handshake(fixedRandom(v.G_secret_hex), fixedRandom(v.S_secret_hex))
    expect(run.g1.channelBinding).toBe(binding)
    expect(run.s2.channelBinding).toBe(binding)
    // Never one of the encryption keys.
    expect(base64urlnopad.decode(binding)).not.toEqual(hex.decode(v.enc_key_S_hex))
    expect(base64urlnopad.decode(binding)).not.toEqual(hex.decode(v.enc_key_G_hex))
  })

  it('round-trips the vector keys through base64', () => {
    expect(encodeBase64(gp)).toBe(v.Gp_b64)
    expect(encodeBase64(sp)).toBe(v.Sp_b64)
  })
})
