import { describe, expect, it } from 'vitest'
import {
  acceptInitiate,
  acceptOk,
  closeChannel,
  confirmCheckCode,
  createInitiate,
  startGenerator,
} from '../../../../src/core/channel/handshake.ts'
import { ChannelSecrets } from '../../../../src/core/channel/channel-secrets.ts'
import { EphemeralKey, parsePublicKey } from '../../../../src/core/channel/keys.ts'
import { encodeInitiate, encodeSealed, utf8Encode } from '../../../../src/core/channel/messages.ts'
import { encryptMessage } from '../../../../src/core/channel/secure-message.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'
import { handshake, unwrap } from './channel-fixture.ts'

const otherCode = (code: string): string => `${(Number(code[0]) + 1) % 10}${code[1]}`

describe('startGenerator', () => {
  it('starts G unestablished with a fresh public key', () => {
    const g = startGenerator(seededRandom(1))
    expect(g).toMatchObject({ kind: 'unestablished', role: 'G' })
    expect(g.ourPublicKey).toMatch(/^[A-Za-z0-9+/]{43}$/)
    expect(startGenerator(seededRandom(2)).ourPublicKey).not.toBe(g.ourPublicKey)
  })
})

describe('the handshake', () => {
  it('takes S to offered then verified and G to established, with the same check code and binding', () => {
    const run = handshake(seededRandom('g'), seededRandom('s'))
    expect(run.s1).toMatchObject({ kind: 'offered', role: 'S', sent: 1, received: 0, theirPublicKey: run.g0.ourPublicKey })
    expect(run.g1).toMatchObject({ kind: 'established', role: 'G', sent: 1, received: 1, theirPublicKey: run.s1.ourPublicKey })
    expect(run.s2).toMatchObject({ kind: 'verified', role: 'S', sent: 1, received: 1 })
    expect(run.s2.checkCode).toMatch(/^[0-9]{2}$/)
    expect(run.g1.channelBinding).toBe(run.s2.channelBinding)
    expect(run.initiate.split('|')[1]).toBe(run.s1.ourPublicKey)
  })

  it('verifies G when its user types the code S shows', () => {
    const run = handshake(seededRandom('g'), seededRandom('s'))
    const g2 = unwrap(confirmCheckCode(run.g1, ` ${run.s2.checkCode} `))
    expect(g2).toMatchObject({ kind: 'verified', role: 'G', checkCode: null, channelBinding: run.g1.channelBinding })
  })

  it('closes the channel when G is given the wrong code', () => {
    const run = handshake(seededRandom('g'), seededRandom('s'))
    expect(confirmCheckCode(run.g1, otherCode(run.s2.checkCode))).toMatchObject({ ok: false, code: 'CHECK_CODE_MISMATCH' })
    // No second guess: the keys are gone.
    expect(confirmCheckCode(run.g1, run.s2.checkCode)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
    expect(encryptMessage(run.g1, '{}')).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })

  it('keeps the channel when the typed text is not two digits', () => {
    const run = handshake(seededRandom('g'), seededRandom('s'))
    expect(confirmCheckCode(run.g1, '3')).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    expect(unwrap(confirmCheckCode(run.g1, run.s2.checkCode)).kind).toBe('verified')
  })

  it('lets one QR code key serve only one channel', () => {
    const g0 = startGenerator(seededRandom('g'))
    const first = unwrap(createInitiate(seededRandom('s1'), g0.ourPublicKey))
    const second = unwrap(createInitiate(seededRandom('s2'), g0.ourPublicKey))
    expect(acceptInitiate(g0, first.message).ok).toBe(true)
    expect(g0.key.forgotten).toBe(true)
    expect(acceptInitiate(g0, second.message)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })

  it('leaves G usable when an initiate does not open', () => {
    const g0 = startGenerator(seededRandom('g'))
    const meant = unwrap(createInitiate(seededRandom('s'), g0.ourPublicKey))
    const [ciphertext, key] = meant.message.split('|') as [string, string]
    const garbled = `${ciphertext.slice(0, -2)}AA|${key}`
    expect(acceptInitiate(g0, garbled)).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
    expect(acceptInitiate(g0, 'no separator')).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
    expect(acceptInitiate(g0, `${ciphertext}|short`)).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
    expect(g0.key.forgotten).toBe(false)
    expect(acceptInitiate(g0, meant.message).ok).toBe(true)
  })

  it('flags every one-bit change of the initiate text as DECRYPTION_FAILED', () => {
    const g0 = startGenerator(seededRandom('g'))
    const { message } = unwrap(createInitiate(seededRandom('s'), g0.ourPublicKey))
    for (let i = 0; i < message.length; i++) {
      for (let bit = 0; bit < 7; bit++) {
        const changed = message.slice(0, i) + String.fromCharCode(message.charCodeAt(i) ^ (1 << bit)) + message.slice(i + 1)
        expect(acceptInitiate(g0, changed), `char ${i} bit ${bit}`).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
      }
    }
    expect(acceptInitiate(g0, message).ok).toBe(true)
  })

  it('refuses an initiate that opens but is not MATRIX_QR_CODE_LOGIN_INITIATE', () => {
    // Sealed with the right keys by hand: a G that took any first text would confuse protocols.
    const g0 = startGenerator(seededRandom('g'))
    const sKey = EphemeralKey.generate(seededRandom('s'))
    const shared = unwrap(sKey.agree(g0.key.publicKey))
    const sSecrets = ChannelSecrets.derive('S', shared, g0.key.publicKey, sKey.publicKey)
    const forged = encodeInitiate(unwrap(sSecrets.seal(0, utf8Encode('MATRIX_QR_CODE_LOGIN_OK'))), sKey.publicKey)
    expect(acceptInitiate(g0, forged)).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    expect(g0.key.forgotten).toBe(false)
  })

  it('leaves S offered when the Ok does not open, then accepts the real one', () => {
    const run = handshake(seededRandom('g'), seededRandom('s'))
    const s1 = unwrap(createInitiate(seededRandom('s'), run.g0.ourPublicKey)).state
    expect(acceptOk(s1, encodeSealed(new Uint8Array(39)))).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
    expect(acceptOk(s1, '***')).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
    expect(acceptOk(s1, run.ok).ok).toBe(true)
  })

  it('refuses an Ok that opens but says something else, and still takes the real one', () => {
    const g0 = startGenerator(seededRandom('g'))
    const s = unwrap(createInitiate(seededRandom('s'), g0.ourPublicKey))
    const sp = unwrap(parsePublicKey(s.state.ourPublicKey))
    const gKey = EphemeralKey.generate(seededRandom('g'))
    const gSecrets = ChannelSecrets.derive('G', unwrap(gKey.agree(sp)), gKey.publicKey, sp)
    const notOk = encodeSealed(unwrap(gSecrets.seal(0, utf8Encode('MATRIX_QR_CODE_LOGIN_INITIATE'))))
    expect(acceptOk(s.state, notOk)).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    const realOk = unwrap(acceptInitiate(g0, s.message)).message
    expect(unwrap(acceptOk(s.state, realOk)).kind).toBe('verified')
  })

  it('refuses transitions from the wrong state or role', () => {
    const run = handshake(seededRandom('g'), seededRandom('s'))
    expect(acceptInitiate(run.s1, run.initiate)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
    expect(acceptInitiate(run.g1, run.initiate)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
    expect(acceptOk(run.g0, run.ok)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
    expect(acceptOk(run.s2, run.ok)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
    expect(confirmCheckCode(run.s2, run.s2.checkCode)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
    expect(confirmCheckCode(run.g0, '00')).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
    expect(encryptMessage(run.s1, '{}')).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
    expect(encryptMessage(run.g0, '{}')).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })

  it('refuses a replayed Ok once S is verified', () => {
    const run = handshake(seededRandom('g'), seededRandom('s'))
    expect(acceptOk(run.s1, run.ok)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })

  it('makes every state unusable after closeChannel', () => {
    const run = handshake(seededRandom('g'), seededRandom('s'))
    closeChannel(run.s2)
    expect(encryptMessage(run.s2, '{}')).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
    const g0 = startGenerator(seededRandom('g2'))
    closeChannel(g0)
    const s = unwrap(createInitiate(seededRandom('s2'), g0.ourPublicKey))
    expect(acceptInitiate(g0, s.message)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })

  it('stays frozen: transitions return new states', () => {
    const run = handshake(seededRandom('g'), seededRandom('s'))
    expect(Object.isFrozen(run.g1)).toBe(true)
    expect(run.s1.kind).toBe('offered')
    expect(run.s1.received).toBe(0)
  })
})
