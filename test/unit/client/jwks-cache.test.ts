/**
 * The scanner's JWK set: kept as long as the answer's `Cache-Control: max-age` allows (at most 300 s),
 * per fetch function and URL; never kept without `max-age` or with `no-store`; a check that fails with
 * a kept set runs once more with a fresh one (a key rotated in since), and a fresh failure is the
 * caller's error.
 */
import { describe, expect, it } from 'vitest'
import { withJwks } from '../../../src/client/jwks-cache.ts'
import type { FetchLike } from '../../../src/client/native-api.ts'

const URL_A = 'http://relay.test/oauth2/jwks'

/** A server whose key set changes with every answer (`kid` = the answer's number). */
const keyServer = (cacheControl: string | null) => {
  let served = 0
  const fetch: FetchLike = async () => {
    served++
    const headers: Record<string, string> = cacheControl === null ? {} : { 'cache-control': cacheControl }
    return Response.json({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x', kid: String(served) }] }, { headers })
  }
  return { fetch, served: () => served }
}

const kidOf = async (jwks: { keys: Array<{ kid?: string }> }): Promise<string> => jwks.keys[0]?.kid ?? ''

describe('withJwks', () => {
  it('keeps the set for max-age (capped at 300 s) and fetches again after it', async () => {
    const server = keyServer('public, max-age=600')
    const t0 = 1_800_000_000_000
    expect(await withJwks(URL_A, server.fetch, t0, kidOf)).toBe('1')
    expect(await withJwks(URL_A, server.fetch, t0 + 299_000, kidOf)).toBe('1')
    expect(server.served()).toBe(1)
    expect(await withJwks(URL_A, server.fetch, t0 + 300_000, kidOf)).toBe('2')
    expect(server.served()).toBe(2)
  })

  it('does not keep an answer without max-age, or with no-store', async () => {
    for (const header of [null, 'no-store, max-age=300', 'public']) {
      const server = keyServer(header)
      await withJwks(URL_A, server.fetch, 0, kidOf)
      await withJwks(URL_A, server.fetch, 0, kidOf)
      expect(server.served()).toBe(2)
    }
  })

  it('keeps sets apart by fetch function and by URL', async () => {
    const one = keyServer('max-age=300')
    const two = keyServer('max-age=300')
    await withJwks(URL_A, one.fetch, 0, kidOf)
    await withJwks(URL_A, two.fetch, 0, kidOf)
    await withJwks('http://other.test/oauth2/jwks', one.fetch, 0, kidOf)
    expect([one.served(), two.served()]).toEqual([2, 1])
  })

  it('checks once more with a fresh set when the kept one fails, and gives the fresh failure to the caller', async () => {
    const server = keyServer('max-age=300')
    await withJwks(URL_A, server.fetch, 0, kidOf)
    // A ticket signed by a key rotated in after the set was kept: the fresh set verifies it.
    const onlyNew = async (jwks: { keys: Array<{ kid?: string }> }) => {
      if ((await kidOf(jwks)) === '1') throw new Error('no such key')
      return 'verified'
    }
    expect(await withJwks(URL_A, server.fetch, 0, onlyNew)).toBe('verified')
    expect(server.served()).toBe(2)
    // A forged ticket: both checks fail, the caller sees the second failure, nothing is fetched a third time.
    let checks = 0
    const never = async () => {
      checks++
      throw new Error(`refused ${checks}`)
    }
    await expect(withJwks(URL_A, server.fetch, 0, never)).rejects.toThrow('refused 2')
    expect(server.served()).toBe(3)
  })

  it('fails with TRANSPORT_FAILED when the server publishes no set', async () => {
    const broken: FetchLike = async () => new Response('nope', { status: 500 })
    await expect(withJwks(URL_A, broken, 0, kidOf)).rejects.toMatchObject({ code: 'TRANSPORT_FAILED' })
  })
})
