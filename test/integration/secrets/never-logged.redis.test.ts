/**
 * Secrets never logged (issue #11) on Redis: the same flows, and every key name of the run's prefix
 * read with SCAN.
 */
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { redisChannelEvents } from '../../../src/adapters/pubsub/redis.ts'
import { opaqueKey } from '../../../src/adapters/storage/opaque-key.ts'
import { redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { expectNoSecrets, runSecretsScenario } from './never-logged-scenario.ts'

const url = redisUrl()

describe.skipIf(url === null)('secrets never logged: Redis', () => {
  it('no secret in any debug log line, any Redis key name (SCAN), error body or webhook', async () => {
    const scan = async (target: { keyPrefix?: string }): Promise<string[]> => {
      const client = new Redis(url as string, { maxRetriesPerRequest: 2 })
      const keys: string[] = []
      let cursor = '0'
      for (let i = 0; i < 10_000; i++) {
        const [next, batch] = await client.scan(cursor, 'MATCH', `${target.keyPrefix ?? ''}*`, 'COUNT', 500)
        keys.push(...batch)
        cursor = next
        if (cursor === '0') break
      }
      client.disconnect()
      return keys
    }
    expectNoSecrets(await runSecretsScenario('redis', url as string, scan))
  }, 60_000)

  it('no channel id in a pub/sub channel name (PUBSUB CHANNELS), the opaque name instead', async () => {
    const client = new Redis(url as string, { maxRetriesPerRequest: 2 })
    const keyPrefix = uniquePrefix('secrets-events')
    const events = redisChannelEvents({ client, keyPrefix })
    const id = 'kryNnEph_yq4SecretChannelId0123'
    try {
      const unsubscribe = await events.subscribe(id, () => {})
      const names = await client.pubsub('CHANNELS', `${keyPrefix}*`)
      expect(names).toEqual([`${keyPrefix}ev:{${opaqueKey(id)}}`])
      expect(names.some((n) => String(n).includes(id))).toBe(false)
      await unsubscribe()
    } finally {
      await events.close()
      await client.quit()
    }
  })
})
