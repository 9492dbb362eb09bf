/**
 * The operator's key actions over a shared key store: a rotation is seen at once by the keyring of the
 * process that made it and by another process's keyring once its reload interval passes; retiring
 * refuses the active key and unknown kids, and keys from configuration cannot be changed.
 */
import { describe, expect, it } from 'vitest'
import { configKeyStore, memoryKeyStore } from '../../../src/adapters/keys/keystore.ts'
import { RelayError } from '../../../src/core/errors.ts'
import { operatorKeys } from '../../../src/services/operator-keys.ts'
import { openSigningKeys } from '../../../src/services/signing-keys.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const TTL = 86_400_000
const flush = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('operatorKeys', () => {
  it('rotates: this keyring at once, another one after its reload interval; the old key stays published', async () => {
    const clock = fakeClock()
    const random = seededRandom(1)
    const store = memoryKeyStore()
    const here = await openSigningKeys({ store, clock, random, retiredKeyTtlMs: TTL })
    const there = await openSigningKeys({ store, clock, random, retiredKeyTtlMs: TTL, reloadIntervalMs: 60_000 })
    const first = here.current().kid
    const keys = operatorKeys({ store, keys: here, clock, random, retiredKeyTtlMs: TTL })
    const { active, previous } = await keys.rotate()
    expect(previous).toMatchObject({ kid: first, state: 'published', publishedUntilMs: clock.now() + TTL })
    expect(here.current().kid).toBe(active.kid)
    expect(there.current().kid).toBe(first)
    clock.advance(60_000)
    there.publicJwks() // stale: starts a reload in the background
    await flush()
    expect(there.current().kid).toBe(active.kid)
    expect(there.publicJwks().keys.map((k) => k.kid)).toEqual([active.kid, first])
    expect((await keys.list()).map((k) => k.state)).toEqual(['active', 'published'])
  })

  it('retires a rotated-out key, never the active one or an unknown kid', async () => {
    const clock = fakeClock()
    const random = seededRandom(2)
    const store = memoryKeyStore()
    const here = await openSigningKeys({ store, clock, random, retiredKeyTtlMs: TTL })
    const keys = operatorKeys({ store, keys: here, clock, random, retiredKeyTtlMs: TTL })
    const { active, previous } = await keys.rotate()
    await expect(keys.retire(active.kid)).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await expect(keys.retire('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    expect((await keys.retire(previous.kid)).kid).toBe(previous.kid)
    expect(here.publicJwks().keys.map((k) => k.kid)).toEqual([active.kid])
  })

  it('refuses to change keys that come from configuration', async () => {
    const clock = fakeClock()
    const random = seededRandom(3)
    const memory = memoryKeyStore()
    const opened = await openSigningKeys({ store: memory, clock, random, retiredKeyTtlMs: TTL })
    const set = await memory.load()
    if (set === null) throw new Error('no keys')
    const jwks = JSON.stringify({ keys: set.keys.map((k) => ({ ...k.jwk, kid: k.kid })) })
    const keys = operatorKeys({ store: configKeyStore(jwks), clock, random, retiredKeyTtlMs: TTL })
    expect((await keys.list())[0]?.kid).toBe(opened.current().kid)
    await expect(keys.rotate()).rejects.toBeInstanceOf(RelayError)
    expect((await keys.list())[0]?.kid).toBe(opened.current().kid)
  })
})
