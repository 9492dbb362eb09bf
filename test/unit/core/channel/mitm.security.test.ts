/**
 * A key substituted in the middle: M scans G's QR code (a channel M↔G) and shows S its own key
 * (a channel S↔M), relaying between them. Both of M's channels work, but the two ends now hold
 * different shared secrets, so their check codes and their channel bindings differ: G's user types
 * S's code and G refuses it, and the server sees two bindings that do not match.
 */
import { describe, expect, it } from 'vitest'
import { acceptInitiate, acceptOk, confirmCheckCode, createInitiate, startGenerator } from '../../../../src/core/channel/handshake.ts'
import { channelBindingsMatch } from '../../../../src/core/channel/channel-binding.ts'
import { decryptMessage, encryptMessage } from '../../../../src/core/channel/secure-message.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'
import { unwrap } from './channel-fixture.ts'

const middle = (seed: number) => {
  const g0 = startGenerator(seededRandom(`g${seed}`))
  // M plays S towards G, using G's real key from the QR code.
  const mToG = unwrap(createInitiate(seededRandom(`mg${seed}`), g0.ourPublicKey))
  const g1 = unwrap(acceptInitiate(g0, mToG.message))
  const mAsS = unwrap(acceptOk(mToG.state, g1.message))
  // M plays G towards S: S scanned M's QR code (or M swapped the key in G's).
  const m0 = startGenerator(seededRandom(`m${seed}`))
  const sToM = unwrap(createInitiate(seededRandom(`s${seed}`), m0.ourPublicKey))
  const m1 = unwrap(acceptInitiate(m0, sToM.message))
  const s2 = unwrap(acceptOk(sToM.state, m1.message))
  return { g1: g1.state, s2, mAsS, mAsG: m1.state }
}

describe('a man in the middle', () => {
  it('gives G and S different check codes and different channel bindings', () => {
    const { g1, s2 } = middle(1)
    expect(g1.secrets.checkCode()).not.toBe(s2.checkCode)
    expect(g1.channelBinding).not.toBe(s2.channelBinding)
    expect(channelBindingsMatch(g1.channelBinding, s2.channelBinding)).toBe(false)
    expect(g1.theirPublicKey).not.toBe(s2.ourPublicKey)
  })

  it('is caught when G is given the code S shows, and G closes the channel', () => {
    const { g1, s2, mAsS } = middle(1)
    expect(confirmCheckCode(g1, s2.checkCode)).toMatchObject({ ok: false, code: 'CHECK_CODE_MISMATCH' })
    // Whatever M relays now goes nowhere: G's keys are wiped.
    const relayed = unwrap(encryptMessage(mAsS, '{"type":"m.login.protocols"}'))
    expect(decryptMessage(g1, relayed.message)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })

  it('cannot pass S messages to G unchanged', () => {
    const { g1, s2 } = middle(2)
    const fromS = unwrap(encryptMessage(s2, 'secret for G'))
    expect(decryptMessage(g1, fromS.message)).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' })
  })

  it('never yields matching channel bindings, whatever the randomness', () => {
    let sameCode = 0
    for (let seed = 0; seed < 64; seed++) {
      const { g1, s2 } = middle(seed)
      expect(channelBindingsMatch(g1.channelBinding, s2.channelBinding), `seed ${seed}`).toBe(false)
      if (g1.secrets.checkCode() === s2.checkCode) sameCode += 1
    }
    // Two digits collide with chance 1/100 per try: the binding is what the server relies on.
    expect(sameCode).toBeLessThan(8)
  })
})
