import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { configKeyStore, memoryKeyStore } from '../../../src/adapters/keys/keystore.ts'
import { openSigningKeys } from '../../../src/services/signing-keys.ts'
import { newEd25519Jwk } from '../../../src/core/crypto/signing-jwk.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const DAY = 86_400_000

const open = async (seed: number | string = 1, store = memoryKeyStore()) => {
  const clock = fakeClock()
  const keys = await openSigningKeys({ store, clock, random: seededRandom(seed), retiredKeyTtlMs: DAY })
  return { keys, clock, store }
}

describe('openSigningKeys', () => {
  it('generates an Ed25519 key on first start and saves it', async () => {
    const { keys, store } = await open()
    expect(keys.current()).toMatchObject({ alg: 'EdDSA', kid: expect.stringMatching(/^[A-Za-z0-9_-]{11}$/) })
    expect((await store.load())?.keys.map((k) => k.kid)).toEqual([keys.current().kid])
  })

  it('reuses the stored key on a later start', async () => {
    const { keys, store } = await open(1)
    const again = await openSigningKeys({ store, clock: fakeClock(), random: seededRandom(99), retiredKeyTtlMs: DAY })
    expect(again.current().kid).toBe(keys.current().kid)
  })

  it('holds a private key that cannot be exported', async () => {
    const { keys } = await open()
    expect(keys.current().privateKey.extractable).toBe(false)
    expect(keys.current().privateKey.type).toBe('private')
  })
})

describe('SigningKeys.publicJwks', () => {
  it('publishes only public members', async () => {
    const { keys } = await open()
    const jwks = keys.publicJwks()
    expect(jwks.keys).toHaveLength(1)
    expect(Object.keys(jwks.keys[0]!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x'])
  })
})

describe('SigningKeys.publicJwks identity', () => {
  it('answers the same frozen object while the same keys are published, and a new one when they change', async () => {
    const { keys, clock } = await open()
    const first = keys.publicJwks()
    expect(keys.publicJwks()).toBe(first)
    expect(Object.isFrozen(first) && Object.isFrozen(first.keys) && Object.isFrozen(first.keys[0])).toBe(true)
    clock.advance(1000)
    await keys.rotate()
    const rotated = keys.publicJwks()
    expect(rotated).not.toBe(first)
    expect(keys.publicJwks()).toBe(rotated)
    clock.advance(DAY)
    const retiredGone = keys.publicJwks()
    expect(retiredGone).not.toBe(rotated)
    expect(retiredGone.keys.map((k) => k.kid)).toEqual([keys.current().kid])
  })
})

describe('SigningKeys.rotate', () => {
  it('switches to a new key and keeps the old one published for the configured time', async () => {
    const { keys, clock, store } = await open()
    const old = keys.current().kid
    clock.advance(1000)
    await keys.rotate()
    expect(keys.current().kid).not.toBe(old)
    expect(keys.publicJwks().keys.map((k) => k.kid)).toEqual([keys.current().kid, old])
    expect((await store.load())?.keys.map((k) => k.kid)).toEqual([keys.current().kid, old])
    clock.advance(DAY - 1)
    expect(keys.publicJwks().keys.map((k) => k.kid)).toContain(old)
    clock.advance(1)
    expect(keys.publicJwks().keys.map((k) => k.kid)).toEqual([keys.current().kid])
  })

  it('runs overlapping rotations one after the other', async () => {
    const { keys } = await open()
    const first = keys.current().kid
    await Promise.all([keys.rotate(), keys.rotate()])
    const kids = keys.publicJwks().keys.map((k) => k.kid)
    expect(new Set(kids).size).toBe(3)
    expect(kids[2]).toBe(first)
  })

  it('is refused, and changes nothing, when the keys come from configuration', async () => {
    const jwk = newEd25519Jwk(seededRandom('cfg'))
    const { keys } = await open(1, configKeyStore(JSON.stringify({ keys: [jwk] })))
    const before = keys.publicJwks()
    await expect(keys.rotate()).rejects.toMatchObject({ code: 'FORBIDDEN' })
    expect(keys.publicJwks()).toEqual(before)
  })
})

describe('SigningKeys background reload', () => {
  it('tells onReloadFailed when the reload of a stale read fails, and keeps serving the keys it has', async () => {
    const store = memoryKeyStore()
    const clock = fakeClock()
    const failures: unknown[] = []
    const keys = await openSigningKeys({
      store,
      clock,
      random: seededRandom(3),
      retiredKeyTtlMs: DAY,
      reloadIntervalMs: 1000,
      onReloadFailed: (error) => failures.push(error),
    })
    const kid = keys.current().kid
    const broken = new Error('store unreachable')
    store.load = () => Promise.reject(broken)
    clock.advance(1001)
    expect(keys.current().kid).toBe(kid)
    await new Promise((resolve) => setImmediate(resolve))
    expect(failures).toEqual([broken])
    // Not retried before the interval has passed again.
    expect(keys.publicJwks().keys.map((k) => k.kid)).toEqual([kid])
    await new Promise((resolve) => setImmediate(resolve))
    expect(failures).toHaveLength(1)
  })
})

describe('configKeyStore', () => {
  it('signs with the first key and publishes the others for as long as they are configured', async () => {
    const current = newEd25519Jwk(seededRandom('a'))
    const { d: _d, ...previous } = newEd25519Jwk(seededRandom('b'))
    const { keys, clock } = await open(
      1,
      configKeyStore(
        JSON.stringify({
          keys: [
            { ...current, kid: 'now' },
            { ...previous, kid: 'before' },
          ],
        }),
      ),
    )
    expect(keys.current().kid).toBe('now')
    clock.advance(365 * DAY)
    expect(keys.publicJwks().keys.map((k) => k.kid)).toEqual(['now', 'before'])
  })

  it('refuses a bad JWK set without echoing it', () => {
    const jwk = newEd25519Jwk(seededRandom('a'))
    const bad = JSON.stringify({ keys: [{ ...jwk, x: newEd25519Jwk(seededRandom('b')).x }] })
    expect(() => configKeyStore(bad)).toThrow(expect.objectContaining({ code: 'INVALID_PARAM' }))
    try {
      configKeyStore(bad)
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(jwk.d as string)
    }
  })
})

describe('secrets never print', () => {
  it('keeps private keys out of JSON.stringify and util.inspect of the keyring and its stores', async () => {
    const jwk = newEd25519Jwk(seededRandom('print'))
    for (const store of [memoryKeyStore(), configKeyStore(JSON.stringify({ keys: [jwk] }))]) {
      const { keys } = await open('print', store)
      const d = (await store.load())!.keys[0]!.jwk.d as string
      for (const text of [JSON.stringify(keys), inspect(keys, { depth: 10 }), JSON.stringify(store), JSON.stringify(keys.publicJwks())]) {
        expect(text).not.toContain(d)
      }
      expect(JSON.parse(JSON.stringify(keys))).toEqual({ store: store.kind, current: keys.current().kid, keys: [keys.current().kid] })
    }
  })
})
