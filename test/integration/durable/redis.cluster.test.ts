/**
 * The durable store and the webhook outbox on a real 3-primary Redis Cluster (test/helpers/redis-cluster.ts):
 * the same conformance suites as on one Redis. Every script runs on one slot (the cluster answers
 * CROSSSLOT otherwise), and accounts spread over the nodes.
 */
import { describe, expect, it } from 'vitest'
import { redisDurableStore } from '../../../src/adapters/durable/redis.ts'
import { redisWebhookOutbox } from '../../../src/adapters/durable/redis-webhook-outbox.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { uniquePrefix } from '../../helpers/redis.ts'
import { clusterClient, runCluster } from '../../helpers/redis-cluster.ts'
import { describeDurableStore } from './conformance.ts'
import { hashOf, session, signedIn } from './fixtures.ts'
import { describeWebhookOutbox } from './webhook-outbox-suite.ts'

const run = runCluster()
if (run === null) {
  describe.skip('DurableStore on Redis Cluster (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  const cluster = () => run

  describeDurableStore('redis cluster', (clock) => {
    const client = clusterClient(cluster())
    const store = redisDurableStore({ client, keyPrefix: uniquePrefix('cdurable'), clock })
    return { ...store, close: async () => void (await client.quit()) }
  })

  describeWebhookOutbox('redis cluster', () => {
    const keyPrefix = uniquePrefix('coutbox')
    const [clientA, clientB] = [clusterClient(cluster()), clusterClient(cluster())]
    return {
      a: redisWebhookOutbox({ client: clientA, keyPrefix }),
      b: redisWebhookOutbox({ client: clientB, keyPrefix }),
      close: async () => {
        await Promise.all([clientA.quit(), clientB.quit()])
      },
    }
  })

  describe('redisDurableStore on Redis Cluster', () => {
    it('runs every account intent on one slot while accounts spread over the primaries', async () => {
      const client = clusterClient(cluster())
      const keyPrefix = uniquePrefix('cspread')
      const clock = fakeClock(Date.now())
      const store = redisDurableStore({ client, keyPrefix, clock })
      try {
        for (let i = 0; i < 12; i++) {
          const { account, device } = await signedIn(store, clock)
          const { family } = await session(store, clock, device)
          await store.credentials.replaceRecoveryCodes(account.id, [hashOf(`r${i}`)])
          const rotated = await store.tokens.rotateRefresh({
            familyId: family.id,
            presentedHash: family.currentHash,
            nextHash: hashOf(`n${i}`),
            graceMs: 0,
          })
          expect(rotated.outcome).toBe('rotated')
          expect(await store.devices.revokeAllExcept(account.id, null)).toBe(1)
        }
        const perNode = await Promise.all(client.nodes('master').map(async (node) => (await node.keys(`${keyPrefix}*`)).length))
        for (const count of perNode) expect(count).toBeGreaterThan(0)
      } finally {
        await client.quit()
      }
    })
  })
}
