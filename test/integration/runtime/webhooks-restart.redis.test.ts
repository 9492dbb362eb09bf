import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, it } from 'vitest'
import { redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { webhookRestartScenario } from './webhooks-restart-scenario.ts'

const url = redisUrl()
const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-webhooks-restart-redis-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe.skipIf(url === null)('webhooks across a restart (Redis outbox)', () => {
  it('delivers an event recorded while the receiver was down exactly once, signed, after a restart', async () => {
    await webhookRestartScenario({
      QRELAY_STORE: 'redis',
      QRELAY_REDIS_URL: url as string,
      QRELAY_REDIS_KEY_PREFIX: uniquePrefix('webhooks-restart'),
      QRELAY_DATA_DIR: dataDir,
      QRELAY_UIA_KEY: '11'.repeat(32),
      QRELAY_LOG_HASH_KEY: '22'.repeat(32),
    })
  }, 60_000)
})
