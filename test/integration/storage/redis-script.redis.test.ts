/**
 * `redisScript` (src/adapters/storage/redis-script.ts) on a real redis-server: EVAL the first time on a
 * connection, EVALSHA after, the source sent again after the server lost its scripts, and the script's
 * own errors passed through untouched.
 */
import { describe, expect, it } from 'vitest'
import { redisScript } from '../../../src/adapters/storage/redis-script.ts'
import { redisClient, redisUrl, uniquePrefix } from '../../helpers/redis.ts'

const ECHO = `return {KEYS[1], ARGV[1], ARGV[2], ARGV[3], #KEYS, #ARGV}`
const commandCalls = async (client: ReturnType<typeof redisClient>, name: string): Promise<number> => {
  const info = await client.info('commandstats')
  return Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
}

if (redisUrl() === null) {
  describe.skip('redisScript (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('redisScript', () => {
    it('sends keys and arguments as strings, and loads the source on a new connection with EVAL', async () => {
      const client = redisClient()
      const echo = redisScript<unknown[]>('qrTestEcho', `${ECHO} -- ${uniquePrefix('echo')}`, 1)
      try {
        expect(await echo(client, ['k', 120_000, 0.5, 'text'])).toEqual(['k', '120000', '0.5', 'text', 1, 3])
        const [evals, shas] = [await commandCalls(client, 'eval'), await commandCalls(client, 'evalsha')]
        expect(await echo(client, ['k2', 1, 2, 3])).toEqual(['k2', '1', '2', '3', 1, 3])
        expect(await commandCalls(client, 'eval')).toBe(evals)
        expect(await commandCalls(client, 'evalsha')).toBe(shas + 1)
      } finally {
        await client.quit()
      }
    })

    it('sends the source again when the server lost it (SCRIPT FLUSH), also for calls sent in one turn', async () => {
      const client = redisClient()
      const prefix = uniquePrefix('flush')
      const incr = redisScript<number>('qrTestIncr', "return redis.call('INCR', KEYS[1])", 1)
      try {
        expect(await incr(client, [`${prefix}n`])).toBe(1)
        await client.script('FLUSH')
        const answers = await Promise.all(Array.from({ length: 10 }, () => incr(client, [`${prefix}n`])))
        // Every call counted once: none lost, none run twice.
        expect([...answers].sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
        expect(await client.get(`${prefix}n`)).toBe('11')
      } finally {
        await client.quit()
      }
    })

    it('passes on the errors of the script, and works again after a reconnect', async () => {
      const client = redisClient()
      const fail = redisScript<never>('qrTestFail', "return redis.error_reply('ERR refused by the script')", 0)
      const one = redisScript<number>('qrTestOne', 'return 1', 0)
      try {
        await expect(fail(client, [])).rejects.toThrow(/refused by the script/)
        expect(await one(client, [])).toBe(1)
        await client.disconnect(true)
        expect(await one(client, [])).toBe(1)
      } finally {
        await client.quit()
      }
    })
  })
}
