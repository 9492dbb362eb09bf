import { describe, expect, it } from 'vitest'
import type { OpenState } from '../../../../src/core/channel/channel-state.ts'
import { confirmCheckCode } from '../../../../src/core/channel/handshake.ts'
import { decodeBase64, encodeBase64 } from '../../../../src/core/channel/base64.ts'
import { canTalk, decryptMessage, encryptMessage } from '../../../../src/core/channel/secure-message.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'
import { handshake, unwrap } from './channel-fixture.ts'

const verifiedPair = (): { g: OpenState; s: OpenState } => {
  const run = handshake(seededRandom('g'), seededRandom('s'))
  return { g: unwrap(confirmCheckCode(run.g1, run.s2.checkCode)), s: run.s2 }
}

const flipBit = (bytes: Uint8Array, bit: number): Uint8Array => {
  const out = bytes.slice()
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7))
  return out
}

describe('encryptMessage and decryptMessage', () => {
  it('round-trips 200 ping-pong messages in both directions', () => {
    let { g, s } = verifiedPair()
    for (let i = 0; i < 100; i++) {
      const fromS = unwrap(encryptMessage(s, JSON.stringify({ type: 'm.login.protocols', i })))
      s = fromS.state
      const atG = unwrap(decryptMessage(g, fromS.message))
      g = atG.state
      expect(JSON.parse(atG.plaintext)).toEqual({ type: 'm.login.protocols', i })
      const fromG = unwrap(encryptMessage(g, `reply ${i} ✓ ünïcødé`))
      g = fromG.state
      const atS = unwrap(decryptMessage(s, fromG.message))
      s = atS.state
      expect(atS.plaintext).toBe(`reply ${i} ✓ ünïcødé`)
    }
    expect(g).toMatchObject({ sent: 101, received: 101 })
    expect(s).toMatchObject({ sent: 101, received: 101 })
  })

  it('delivers several messages in a row in order', () => {
    let { g, s } = verifiedPair()
    const wire: string[] = []
    for (let i = 0; i < 10; i++) {
      const sent = unwrap(encryptMessage(g, `m${i}`))
      g = sent.state
      wire.push(sent.message)
    }
    for (let i = 0; i < 10; i++) {
      const got = unwrap(decryptMessage(s, wire[i] as string))
      s = got.state
      expect(got.plaintext).toBe(`m${i}`)
    }
  })

  it('lets G send and receive while established, before the check code', () => {
    const run = handshake(seededRandom('g'), seededRandom('s'))
    const sent = unwrap(encryptMessage(run.s2, '{"type":"m.login.protocols"}'))
    const got = unwrap(decryptMessage(run.g1, sent.message))
    expect(got.state.kind).toBe('established')
    const answer = unwrap(encryptMessage(got.state, '{"type":"m.login.protocol"}'))
    expect(unwrap(decryptMessage(sent.state, answer.message)).plaintext).toBe('{"type":"m.login.protocol"}')
  })

  it('writes unpadded base64', () => {
    let state = verifiedPair().s
    for (let n = 0; n < 6; n++) {
      const sent = unwrap(encryptMessage(state, 'x'.repeat(n)))
      state = sent.state
      expect(sent.message).toMatch(/^[A-Za-z0-9+/]+$/)
    }
  })

  it('accepts padded base64 from the peer', () => {
    const { g, s } = verifiedPair()
    const sent = unwrap(encryptMessage(s, 'x'))
    const padded = sent.message + '='.repeat((4 - (sent.message.length % 4)) % 4)
    expect(padded.endsWith('=')).toBe(true)
    expect(unwrap(decryptMessage(g, padded)).plaintext).toBe('x')
  })
})

describe('decryptMessage with tampered input', () => {
  it('reports DECRYPTION_FAILED for every flipped ciphertext bit and leaves the state usable', () => {
    const { g, s } = verifiedPair()
    const { message } = unwrap(encryptMessage(s, '{"type":"m.login.protocols","protocols":["device_authorization_grant"]}'))
    const ciphertext = decodeBase64(message) as Uint8Array
    for (let bit = 0; bit < ciphertext.length * 8; bit++) {
      expect(decryptMessage(g, encodeBase64(flipBit(ciphertext, bit))), `bit ${bit}`).toMatchObject({
        ok: false,
        code: 'DECRYPTION_FAILED',
      })
    }
    expect(g.received).toBe(1)
    expect(unwrap(decryptMessage(g, message)).plaintext).toContain('device_authorization_grant')
  })

  it('reports DECRYPTION_FAILED for every flipped bit of the base64 text', () => {
    const { g, s } = verifiedPair()
    const { message } = unwrap(encryptMessage(s, 'hello G'))
    for (let i = 0; i < message.length; i++) {
      for (let bit = 0; bit < 7; bit++) {
        const changed = message.slice(0, i) + String.fromCharCode(message.charCodeAt(i) ^ (1 << bit)) + message.slice(i + 1)
        expect(decryptMessage(g, changed), `char ${i} bit ${bit}`).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
      }
    }
    expect(unwrap(decryptMessage(g, message)).plaintext).toBe('hello G')
  })

  it('refuses a truncated, empty or reflected message', () => {
    const { g, s } = verifiedPair()
    const { message } = unwrap(encryptMessage(s, 'hello G'))
    expect(decryptMessage(g, message.slice(0, -4))).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
    expect(decryptMessage(g, '')).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
    // S's own message bounced back to S: S's receiving key is G's sending key, so it cannot open.
    expect(decryptMessage(s, message)).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
  })

  it('refuses a message skipped ahead out of order', () => {
    const { g, s } = verifiedPair()
    const first = unwrap(encryptMessage(s, 'one'))
    const second = unwrap(encryptMessage(first.state, 'two'))
    expect(decryptMessage(g, second.message)).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
    const afterFirst = unwrap(decryptMessage(g, first.message)).state
    expect(unwrap(decryptMessage(afterFirst, second.message)).plaintext).toBe('two')
  })
})

describe('spent states', () => {
  it('refuse a second send, so a nonce is never used twice', () => {
    const { s } = verifiedPair()
    expect(encryptMessage(s, 'first').ok).toBe(true)
    expect(encryptMessage(s, 'second')).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })

  it('refuse a replay of a message already received', () => {
    const { g, s } = verifiedPair()
    const sent = unwrap(encryptMessage(s, 'once'))
    const received = unwrap(decryptMessage(g, sent.message))
    expect(decryptMessage(g, sent.message)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
    expect(decryptMessage(received.state, sent.message)).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
  })

  it('are reported by canTalk only for open, unclosed states', () => {
    const run = handshake(seededRandom('g'), seededRandom('s'))
    expect([run.g0, run.s1, run.g1, run.s2].map(canTalk)).toEqual([false, false, true, true])
  })
})
