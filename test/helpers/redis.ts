/**
 * Redis for tests: the URL that test/setup/redis.ts provides, and clients with a unique key prefix per
 * test so suites never see each other's keys. In CI a missing Redis is a failure, never a skip.
 */
import { Redis } from 'ioredis'
import { inject } from 'vitest'

/** The Redis URL of this run, or null when none could be started (only outside CI). */
export const redisUrl = (): string | null => inject('redisUrl')

let prefixSerial = 0
/** A key prefix no other test uses. */
export const uniquePrefix = (label: string): string => `t:${label}:${process.pid}:${Date.now().toString(36)}:${prefixSerial++}:`

/** A new client on the test Redis; the caller quits it. */
export const redisClient = (): Redis => {
  const url = redisUrl()
  if (url === null) throw new Error('no Redis for this run')
  return new Redis(url, { maxRetriesPerRequest: 2 })
}
