import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { RelayError } from '../../../src/core/errors.ts'
import { currentDpopNonce } from '../../../src/core/oauth/dpop-nonce.ts'
import { dpopProofs } from '../../../src/services/dpop-proofs.ts'
import { dpopHolder } from '../../helpers/dpop.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const URL_ = 'https://relay.example/oauth2/token'
const NONCE_KEY = new Uint8Array(32).fill(4)

const setup = (nonceKey?: Uint8Array) => {
  const clock = fakeClock()
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  return { clock, proofs: dpopProofs({ counters: store.counters, clock, nonceKey }) }
}

const codeOf = async (promise: Promise<unknown>): Promise<string | undefined> => {
  try {
    await promise
    return undefined
  } catch (error) {
    if (error instanceof RelayError) return `${error.code}: ${error.detail ?? ''}`
    throw error
  }
}

describe('dpopProofs', () => {
  it('accepts a proof once and returns its key thumbprint; the same proof again is a replay', async () => {
    const { clock, proofs } = setup()
    const holder = await dpopHolder()
    const proof = await holder.prove('POST', URL_, clock.now())
    expect(await proofs.accept(proof, { method: 'POST', url: URL_ })).toBe(holder.jkt)
    expect(await codeOf(proofs.accept(proof, { method: 'POST', url: URL_ }))).toBe('INVALID_DPOP_PROOF: this DPoP proof was already used')
  })

  it('refuses a proof for another method or URL', async () => {
    const { clock, proofs } = setup()
    const holder = await dpopHolder()
    const proof = await holder.prove('POST', URL_, clock.now())
    expect(await codeOf(proofs.accept(proof, { method: 'GET', url: URL_ }))).toMatch(/^INVALID_DPOP_PROOF: .*htm/)
    expect(await codeOf(proofs.accept(proof, { method: 'POST', url: 'https://relay.example/oauth2/revoke' }))).toMatch(/htu/)
  })

  it('checks ath against the access token, and the key against the bound one before spending the jti', async () => {
    const { clock, proofs } = setup()
    const holder = await dpopHolder()
    const other = await dpopHolder()
    const url = 'https://relay.example/v1/devices'
    const wrongAth = await holder.prove('GET', url, clock.now(), { accessToken: 'other-token' })
    expect(await codeOf(proofs.accept(wrongAth, { method: 'GET', url, accessToken: 'the-token' }))).toMatch(/ath/)
    const byOther = await other.prove('GET', url, clock.now(), { accessToken: 'the-token', jti: 'shared-jti' })
    expect(await codeOf(proofs.accept(byOther, { method: 'GET', url, accessToken: 'the-token', boundJkt: holder.jkt }))).toBe(
      'INVALID_DPOP_PROOF: the DPoP proof is not by the key this token is bound to',
    )
    // The refused proof spent nothing: the holder's own proof with that jti still goes through.
    const own = await holder.prove('GET', url, clock.now(), { accessToken: 'the-token', jti: 'shared-jti' })
    expect(await proofs.accept(own, { method: 'GET', url, accessToken: 'the-token', boundJkt: holder.jkt })).toBe(holder.jkt)
  })

  it('without a nonce key announces no nonce and demands none', async () => {
    const { clock, proofs } = setup()
    const holder = await dpopHolder()
    expect(proofs.currentNonce()).toBeUndefined()
    expect(await proofs.accept(await holder.prove('POST', URL_, clock.now()), { method: 'POST', url: URL_, withNonce: true })).toBe(
      holder.jkt,
    )
  })

  it('with a nonce key demands a fresh nonce where asked, leaving the jti unspent when it is missing', async () => {
    const { clock, proofs } = setup(NONCE_KEY)
    const holder = await dpopHolder()
    const nonce = proofs.currentNonce()
    expect(nonce).toBe(currentDpopNonce(NONCE_KEY, clock.now()))
    const bare = await holder.prove('POST', URL_, clock.now(), { jti: 'j1' })
    expect(await codeOf(proofs.accept(bare, { method: 'POST', url: URL_, withNonce: true }))).toMatch(/^DPOP_NONCE_REQUIRED/)
    const withNonce = await holder.prove('POST', URL_, clock.now(), { jti: 'j1', nonce: nonce as string })
    expect(await proofs.accept(withNonce, { method: 'POST', url: URL_, withNonce: true })).toBe(holder.jkt)
    // Endpoints that take no nonce (bearer use, revocation) accept a proof without one.
    const plain = await holder.prove('POST', URL_, clock.now())
    expect(await proofs.accept(plain, { method: 'POST', url: URL_ })).toBe(holder.jkt)
  })

  it('refuses a nonce from long ago', async () => {
    const { clock, proofs } = setup(NONCE_KEY)
    const holder = await dpopHolder()
    const old = proofs.currentNonce() as string
    clock.advance(60 * 60 * 1000)
    const proof = await holder.prove('POST', URL_, clock.now(), { nonce: old })
    expect(await codeOf(proofs.accept(proof, { method: 'POST', url: URL_, withNonce: true }))).toMatch(/^DPOP_NONCE_REQUIRED/)
  })
})
