/**
 * Our MSC4108 (2024) secure channel against the real implementation, @matrix-org/matrix-sdk-crypto-wasm
 * 18.9.0 (vodozemac's `Ecies`, what Element Web runs), in both roles: we as G with the wasm as S, and
 * the reverse. Both ends must agree on the check code and open each other's messages.
 *
 * Gotcha: a Curve25519PublicKey passed into a wasm method is consumed; build a fresh one each time.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import * as wasm from '@matrix-org/matrix-sdk-crypto-wasm'
import { acceptInitiate, acceptOk, confirmCheckCode, createInitiate, startGenerator } from '../../../src/core/channel/handshake.ts'
import { checkCodeDigits } from '../../../src/core/channel/check-code.ts'
import type { OpenState } from '../../../src/core/channel/channel-state.ts'
import { LOGIN_INITIATE_TEXT, LOGIN_OK_TEXT } from '../../../src/core/channel/messages.ts'
import { decryptMessage, encryptMessage } from '../../../src/core/channel/secure-message.ts'
import type { Result } from '../../../src/core/errors.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const unwrap = <T>(result: Result<T>): T => {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}: ${result.detail ?? ''}`)
  return result.value
}

/** The wasm's 2024 check code (a number, 0–99) as the two characters the 2024 UI shows. */
const wasmCode = (channel: wasm.EstablishedEcies): string => String(channel.check_code().to_digit()).padStart(2, '0')

const MESSAGES = [
  '{"type":"m.login.protocols","protocols":["device_authorization_grant"],"homeserver":"https://hs.example"}',
  '{"type":"m.login.protocol","protocol":"device_authorization_grant","device_authorization_grant":{"verification_uri":"https://hs.example/device"},"device_id":"ABCDEFGH"}',
  '{"type":"m.login.protocol_accepted"}',
  '{"type":"m.login.success"}',
  `{"type":"m.login.secrets","padding":"${'x'.repeat(2000)}","text":"ünïcødé ✓ 🔐"}`,
  '',
]

/** Alternates messages: ours then theirs, checking each side opens the other's. */
const converse = (ours: OpenState, theirs: wasm.EstablishedEcies): OpenState => {
  let state = ours
  for (const text of MESSAGES) {
    const sent = unwrap(encryptMessage(state, text))
    state = sent.state
    expect(theirs.decrypt(sent.message)).toBe(text)
    const reply = `${text} (reply)`
    const received = unwrap(decryptMessage(state, theirs.encrypt(reply)))
    state = received.state
    expect(received.plaintext).toBe(reply)
  }
  return state
}

beforeAll(async () => {
  await wasm.initAsync()
})

describe('MSC4108 ECIES: we are G, the wasm is S', () => {
  it.each([1, 2, 3, 4])('completes the handshake, agrees on the check code and talks (seed %i)', (seed) => {
    const g0 = startGenerator(seededRandom(`wasm-g-${seed}`))
    const s = new wasm.Ecies()
    const outbound = s.establish_outbound_channel(new wasm.Curve25519PublicKey(g0.ourPublicKey), LOGIN_INITIATE_TEXT)
    const sChannel = outbound.channel
    const g1 = unwrap(acceptInitiate(g0, outbound.initial_message))
    expect(g1.state.theirPublicKey).toBe(sChannel.public_key().toBase64())
    expect(sChannel.decrypt(g1.message)).toBe(LOGIN_OK_TEXT)

    // S shows its code; G's user types it.
    const code = wasmCode(sChannel)
    expect(code).toBe(checkCodeDigits(sChannel.check_code().as_bytes()))
    const g2 = unwrap(confirmCheckCode(g1.state, code))

    const end = converse(g2, sChannel)
    expect(end).toMatchObject({ sent: 1 + MESSAGES.length, received: 1 + MESSAGES.length })
  })

  it('refuses the wasm code of another channel', () => {
    const g0 = startGenerator(seededRandom('wasm-g-mitm'))
    const s = new wasm.Ecies()
    const outbound = s.establish_outbound_channel(new wasm.Curve25519PublicKey(g0.ourPublicKey), LOGIN_INITIATE_TEXT)
    const g1 = unwrap(acceptInitiate(g0, outbound.initial_message)).state
    const real = wasmCode(outbound.channel)
    const wrong = `${(Number(real[0]) + 5) % 10}${real[1]}`
    expect(confirmCheckCode(g1, wrong)).toMatchObject({ ok: false, code: 'CHECK_CODE_MISMATCH' })
  })
})

describe('MSC4108 ECIES: the wasm is G, we are S', () => {
  it.each([1, 2, 3, 4])('completes the handshake, agrees on the check code and talks (seed %i)', (seed) => {
    const g = new wasm.Ecies()
    const gKey = g.public_key().toBase64()
    const s1 = unwrap(createInitiate(seededRandom(`wasm-s-${seed}`), gKey))
    const inbound = g.establish_inbound_channel(s1.message)
    expect(inbound.message).toBe(LOGIN_INITIATE_TEXT)
    const gChannel = inbound.channel
    expect(gChannel.public_key().toBase64()).toBe(gKey)

    const s2 = unwrap(acceptOk(s1.state, gChannel.encrypt(LOGIN_OK_TEXT)))
    expect(s2.checkCode).toBe(wasmCode(gChannel))
    expect(s2.theirPublicKey).toBe(gKey)

    converse(s2, gChannel)
  })

  it('reports DECRYPTION_FAILED for a tampered wasm message and still opens the real one', () => {
    const g = new wasm.Ecies()
    const s1 = unwrap(createInitiate(seededRandom('wasm-s-tamper'), g.public_key().toBase64()))
    const gChannel = g.establish_inbound_channel(s1.message).channel
    const ok = gChannel.encrypt(LOGIN_OK_TEXT)
    const tampered = (ok[0] === 'A' ? 'B' : 'A') + ok.slice(1)
    expect(acceptOk(s1.state, tampered)).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
    expect(unwrap(acceptOk(s1.state, ok)).kind).toBe('verified')
  })
})
