/**
 * `heldOrEarly`: a held token poll that answers soon after the approval is heard is the only poll
 * (no second poll races it for the grant); one that does not answer within the grace gets a poll
 * beside it, and the answer with tokens wins.
 */
import { describe, expect, it } from 'vitest'
import { heldOrEarly, type PeerOutcome } from '../../../src/client/poll-wait.ts'
import type { JsonAnswer } from '../../../src/client/login-http.ts'

const peerOf = (): PeerOutcome => ({ early: null, gone: false, approved: false, wake: () => {} })
const tokens = { status: 200, body: { access_token: 'a', token_type: 'DPoP' } } as unknown as JsonAnswer
const pending = { status: 400, body: { error: 'authorization_pending' } } as unknown as JsonAnswer
const used = { status: 400, body: { error: 'invalid_grant' } } as unknown as JsonAnswer
const later = <T>(value: T, ms: number): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms))

describe('heldOrEarly', () => {
  it('takes the held answer and sends no second poll when it comes within the grace', async () => {
    const peer = peerOf()
    let early = 0
    const answer = heldOrEarly(later(tokens, 40), peer, async () => (early++, used), 5000)
    setTimeout(() => peer.wake(), 10)
    expect(await answer).toBe(tokens)
    expect(early).toBe(0)
  })

  it('polls beside a held poll still silent after the grace, and takes whichever brings tokens', async () => {
    const peer = peerOf()
    let early = 0
    const answer = heldOrEarly(later(used, 2000), peer, async () => (early++, tokens), 20)
    setTimeout(() => peer.wake(), 10)
    expect(await answer).toBe(tokens)
    expect(early).toBe(1)
  })

  it('without an approval, is the held poll', async () => {
    let early = 0
    expect(await heldOrEarly(later(pending, 10), peerOf(), async () => (early++, tokens), 5)).toBe(pending)
    expect(early).toBe(0)
  })
})
