/**
 * Finding 48 on the memory app (the Redis-backed app: `ipv6-prefix-limits.redis.test.ts`).
 */
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { describeIpv6PrefixLimits } from './ipv6-prefix-limits-suite.ts'

const START = Date.UTC(2026, 10, 23, 8, 0)

describeIpv6PrefixLimits('memory', async (env, options) => {
  const t = makeApp({ env, clock: fakeClock(START), abuse: options?.abuse === true })
  return { t, close: async () => {} }
})
