/**
 * Randomized agreement (noble's pattern): for 256 seeds, G and S run the handshake and agree on the
 * keys (each side opens the other's messages), the check code and the channel binding.
 */
import { describe, expect, it } from 'vitest'
import { confirmCheckCode } from '../../../../src/core/channel/handshake.ts'
import { decryptMessage, encryptMessage } from '../../../../src/core/channel/secure-message.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'
import { handshake, unwrap } from './channel-fixture.ts'

describe('handshake agreement', () => {
  it('agrees on keys, check code and binding for 256 random key pairs', () => {
    const bindings = new Set<string>()
    for (let seed = 0; seed < 256; seed++) {
      const run = handshake(seededRandom(`agree-g-${seed}`), seededRandom(`agree-s-${seed}`))
      expect(run.g1.secrets.checkCode()).toBe(run.s2.checkCode)
      expect(run.g1.channelBinding).toBe(run.s2.channelBinding)
      bindings.add(run.s2.channelBinding)
      const g = unwrap(confirmCheckCode(run.g1, run.s2.checkCode))
      const fromS = unwrap(encryptMessage(run.s2, `s→g ${seed}`))
      const atG = unwrap(decryptMessage(g, fromS.message))
      expect(atG.plaintext).toBe(`s→g ${seed}`)
      const fromG = unwrap(encryptMessage(atG.state, `g→s ${seed}`))
      expect(unwrap(decryptMessage(fromS.state, fromG.message)).plaintext).toBe(`g→s ${seed}`)
    }
    expect(bindings.size).toBe(256)
  })
})
