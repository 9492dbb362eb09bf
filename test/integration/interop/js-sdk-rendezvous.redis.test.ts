/**
 * matrix-js-sdk's rendezvous transport and secure channel against two qrelay processes sharing one
 * Redis: side A's requests alternate between the processes, side B's all go to the process that did
 * not create the session (see js-sdk-suite.ts for the scenarios).
 */
import { describe, it } from 'vitest'
import { redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { spawnServer } from '../../helpers/spawn-server.ts'
import { describeJsSdkInterop } from './js-sdk-suite.ts'

const url = redisUrl()
if (url === null) {
  describe.skip('matrix-js-sdk 43 rendezvous: two processes (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describeJsSdkInterop('two processes sharing Redis', async () => {
    const env = {
      QRELAY_STORE: 'redis',
      QRELAY_REDIS_URL: url,
      QRELAY_REDIS_KEY_PREFIX: uniquePrefix('interop'),
      QRELAY_LOG_HASH_KEY: '5a'.repeat(32),
    }
    const [first, second] = await Promise.all([spawnServer(env), spawnServer(env)])
    return {
      originsA: [first.url, second.url],
      originsB: [second.url],
      stop: async () => void (await Promise.all([first.stop(), second.stop()])),
    }
  })
}
