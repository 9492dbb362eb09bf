/**
 * Fault: a process cut in the middle of a "not me" report (finding 44), two processes on one real
 * Redis, each with its own connection (the killed one's is cut at the kill). The suite is in
 * not-me-crash-suite.ts.
 */
import { describe, it } from 'vitest'
import { redisUrl } from '../helpers/redis.ts'
import { redisRuns } from './crash-stores-redis.ts'
import { describeNotMeCrash } from './not-me-crash-suite.ts'

if (redisUrl() === null) {
  describe.skip('faults (redis): no redis-server on this machine', () => it('skipped', () => {}))
} else {
  describeNotMeCrash('redis', redisRuns('not-me-crash'))
}
