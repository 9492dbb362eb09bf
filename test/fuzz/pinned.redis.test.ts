/** The pinned fuzz counterexamples (pinned-suite.ts) on a real server, on the test redis-server. */
import { afterAll, beforeAll, describe } from 'vitest'
import { redisUrl } from '../helpers/redis.ts'
import { pinnedCounterexamples } from './pinned-suite.ts'
import { startFuzzTarget, type FuzzTarget } from './target.ts'

const url = redisUrl()

describe.skipIf(url === null)('pinned fuzz counterexamples: Redis', () => {
  let target: FuzzTarget
  beforeAll(async () => {
    target = await startFuzzTarget({ store: 'redis', redisUrl: url as string })
  })
  afterAll(async () => {
    await target?.stop()
  })
  pinnedCounterexamples(() => target)
})
