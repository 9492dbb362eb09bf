import { describe, expect, it } from 'vitest'
import { redisDurableStore } from '../../../src/adapters/durable/redis.ts'
import type { DurableStore } from '../../../src/ports.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { redisClient, redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { describeDurableStore } from './conformance.ts'
import { hashOf, session, signedIn } from './fixtures.ts'

// The slot-deciding part of a key: the first {…} with something inside, as Redis Cluster reads it.
const hashTag = (key: string): string => {
  const open = key.indexOf('{')
  const close = key.indexOf('}', open + 1)
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key
}

if (redisUrl() === null) {
  describe.skip('DurableStore conformance: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describeDurableStore('redis', (clock) => {
    const client = redisClient()
    const store = redisDurableStore({ client, keyPrefix: uniquePrefix('durable'), clock })
    return { ...store, close: async () => void (await client.quit()) }
  })

  describe('redisDurableStore', () => {
    it('keeps every key of one account under the account’s hash tag', async () => {
      const client = redisClient()
      const keyPrefix = uniquePrefix('slots')
      const clock = fakeClock(Date.now())
      const store = redisDurableStore({ client, keyPrefix, clock })
      const { account, device } = await signedIn(store, clock)
      const { access, family } = await session(store, clock, device)
      await store.credentials.replaceRecoveryCodes(account.id, [hashOf('r')])
      await store.tokens.rotateRefresh({ familyId: family.id, presentedHash: family.currentHash, nextHash: hashOf('n'), graceMs: 0 })

      const keys = await client.keys(`${keyPrefix}*`)
      const tags = new Set(keys.map(hashTag))
      // `accounts`: the one key of the operators' listing (a sorted set of username keys).
      const pointers = [`u:${account.username.toLowerCase()}`, `t:${access.id}`, `f:${family.id}`, 'accounts']
      expect([...tags].sort()).toEqual([`a:${account.id}`, ...pointers].sort())
      expect(keys.filter((k) => hashTag(k) === `a:${account.id}`).length).toBeGreaterThanOrEqual(8)
      await client.quit()
    })

    it('stays atomic between two connections (two processes)', async () => {
      const [clientA, clientB] = [redisClient(), redisClient()]
      const keyPrefix = uniquePrefix('two')
      const clock = fakeClock(Date.now())
      const [a, b] = [clientA, clientB].map((client) => redisDurableStore({ client, keyPrefix, clock })) as [DurableStore, DurableStore]
      const { account, device } = await signedIn(a, clock)
      const { family } = await session(b, clock, device)
      await b.credentials.replaceRecoveryCodes(account.id, [hashOf('shared')])
      const spent = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).credentials.consumeRecoveryCode(account.id, hashOf('shared'))),
      )
      expect(spent.filter(Boolean)).toHaveLength(1)
      const rotations = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? a : b).tokens.rotateRefresh({
            familyId: family.id,
            presentedHash: family.currentHash,
            nextHash: hashOf(`n${i}`),
            graceMs: 5_000,
          }),
        ),
      )
      const outcomes = rotations.map((r) => r.outcome)
      expect(outcomes.filter((o) => o === 'rotated')).toHaveLength(1)
      expect(outcomes.filter((o) => o === 'raced')).toHaveLength(19)
      const names = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? a : b).accounts.create({ ...account, id: `${account.id}-${i}`, username: `${account.username}-twin` }),
        ),
      )
      expect(names.filter((o) => o === 'ok')).toHaveLength(1)
      await Promise.all([clientA.quit(), clientB.quit()])
    })

    it('lists accounts made before the listing index existed (filled once from the username index)', async () => {
      const client = redisClient()
      const keyPrefix = uniquePrefix('list')
      const clock = fakeClock(Date.now())
      const store = redisDurableStore({ client, keyPrefix, clock })
      const { account } = await signedIn(store, clock)
      await client.del(`${keyPrefix}{accounts}`, `${keyPrefix}{accounts}:complete`)
      expect((await store.accounts.list(null, 10)).accounts.map((a) => a.id)).toEqual([account.id])
      expect(await client.exists(`${keyPrefix}{accounts}:complete`)).toBe(1)
      await client.quit()
    })

    it('refuses a key prefix that would move the hash tag', async () => {
      const client = redisClient()
      expect(() => redisDurableStore({ client, keyPrefix: 'q{x}:', clock: fakeClock() })).toThrow(/must not contain/)
      await client.quit()
    })
  })
}
