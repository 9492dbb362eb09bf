/**
 * The operator CLI session (./cli-scenario.ts) against a real Redis under a key prefix of its own,
 * plus the network commands, which need the shared ephemeral store: a block made by another process
 * is listed with its reason and lifted.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { redisDurableStore } from '../../../src/adapters/durable/redis.ts'
import { redisWebhookOutbox } from '../../../src/adapters/durable/redis-webhook-outbox.ts'
import { systemClock } from '../../../src/adapters/platform/node.ts'
import { redisStore } from '../../../src/adapters/storage/redis.ts'
import { DEFAULT_ABUSE_PER_IP } from '../../../src/core/policy/abuse.ts'
import { abuseGuard } from '../../../src/services/abuse-guard.ts'
import { redisClient, redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { describeCliScenario, runCli } from './cli-scenario.ts'

const url = redisUrl()
const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-cli-redis-'))
const keyPrefix = uniquePrefix('cli')
const env = { QRELAY_STORE: 'redis', QRELAY_REDIS_URL: url ?? '', QRELAY_REDIS_KEY_PREFIX: keyPrefix, QRELAY_DATA_DIR: dataDir }
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

if (url === null) {
  describe.skip('qrelay CLI on Redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describeCliScenario('redis', () => ({
    env,
    dataDir,
    async open() {
      const client = redisClient()
      return {
        durable: redisDurableStore({ client, keyPrefix, clock: systemClock }),
        outbox: redisWebhookOutbox({ client, keyPrefix }),
        close: async () => void (await client.quit()),
      }
    },
  }))

  describe('qrelay network on Redis', () => {
    it('lists the blocks another process made, with their reason, and lifts them by address or ASN', async () => {
      const client = redisClient()
      const store = redisStore({ client, keyPrefix, clock: systemClock })
      const guard = abuseGuard({ counters: store.counters, kv: store.kv, clock: systemClock, thresholds: DEFAULT_ABUSE_PER_IP })
      try {
        expect(runCli(env, ['network', 'blocks']).stdout).toBe('no network is blocked\n')
        await guard.deny('203.0.113.7', 600_000)
        await guard.deny('asn:64500', 300_000)
        const listed = JSON.parse(runCli(env, ['network', 'blocks', '--json']).stdout) as Array<{ network: string; reason: string }>
        expect(listed.map(({ network, reason }) => ({ network, reason }))).toEqual([
          { network: '203.0.113.7', reason: 'explicit' },
          { network: 'asn:64500', reason: 'explicit' },
        ])
        expect(runCli(env, ['network', 'unblock', '203.0.113.7']).stdout).toMatch(
          /^unblocked 203\.0\.113\.7 \(it was denied for \d+ more seconds\)\n$/,
        )
        expect(runCli(env, ['network', 'unblock', 'AS64500']).stdout).toMatch(/^unblocked asn:64500 /)
        expect(await guard.isDenied('203.0.113.7')).toBe(false)
        expect(runCli(env, ['network', 'blocks']).stdout).toBe('no network is blocked\n')
      } finally {
        await client.quit()
      }
    }, 180_000)
  })
}
