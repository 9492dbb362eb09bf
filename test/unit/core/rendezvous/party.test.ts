import { describe, expect, it } from 'vitest'
import { createChannel } from '../../../../src/core/rendezvous/channel.ts'
import { claimChannel, identifyParty } from '../../../../src/core/rendezvous/party.ts'
import { hashSecret } from '../../../../src/core/crypto/secrets.ts'

const creatorHash = hashSecret('creator-secret')
const joinerHash = hashSecret('joiner-secret')
const unclaimed = createChannel({ id: 'n1', api: 'native', data: '', now: 0, ttlMs: 1000, creatorSecretHash: creatorHash })
const claimed = (() => {
  const r = claimChannel(unclaimed, joinerHash, '198.51.100.7')
  if (!r.ok) throw new Error('unexpected')
  return r.value
})()

describe('identifyParty', () => {
  it('recognises the creator by its secret', () => {
    expect(identifyParty(unclaimed, creatorHash)).toEqual({ ok: true, value: 'creator' })
    expect(identifyParty(claimed, creatorHash)).toEqual({ ok: true, value: 'creator' })
  })

  it('lets the first party without a secret claim an unclaimed channel', () => {
    expect(identifyParty(unclaimed, null)).toEqual({ ok: true, value: 'claim' })
  })

  it('recognises the joiner by its secret once claimed', () => {
    expect(identifyParty(claimed, joinerHash)).toEqual({ ok: true, value: 'joiner' })
  })

  it('refuses a third party on a claimed channel', () => {
    expect(identifyParty(claimed, null)).toMatchObject({ ok: false, code: 'CHANNEL_CLAIMED' })
  })

  it('refuses a wrong secret, claimed or not', () => {
    expect(identifyParty(unclaimed, hashSecret('guess'))).toMatchObject({ ok: false, code: 'CHANNEL_CLAIMED' })
    expect(identifyParty(claimed, hashSecret('guess'))).toMatchObject({ ok: false, code: 'CHANNEL_CLAIMED' })
  })

  it('does not take a joiner secret for the creator before any claim', () => {
    expect(identifyParty(unclaimed, joinerHash)).toMatchObject({ ok: false })
  })
})

describe('claimChannel', () => {
  it('records the joiner and bumps the revision without touching the token', () => {
    expect(claimed).toMatchObject({ joinerSecretHash: joinerHash, joinerNetwork: '198.51.100.7', rev: unclaimed.rev + 1 })
    expect(claimed.token).toBe(unclaimed.token)
  })

  it('refuses a second claim', () => {
    expect(claimChannel(claimed, hashSecret('other'), undefined)).toMatchObject({ ok: false, code: 'CHANNEL_CLAIMED' })
  })
})
