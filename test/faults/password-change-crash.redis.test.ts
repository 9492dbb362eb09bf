/**
 * Fault: a process cut in the middle of a password change (finding 43), two processes on one real
 * Redis, each with its own connection (the killed one's is cut at the kill). The suite is in
 * password-change-crash-suite.ts.
 */
import { describe, it } from 'vitest'
import { redisUrl } from '../helpers/redis.ts'
import { redisRuns } from './crash-stores-redis.ts'
import { describePasswordChangeCrash } from './password-change-crash-suite.ts'

if (redisUrl() === null) {
  describe.skip('faults (redis): no redis-server on this machine', () => it('skipped', () => {}))
} else {
  describePasswordChangeCrash('redis', redisRuns('password-crash'))
}
