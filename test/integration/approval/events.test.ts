/** The account event feed on the memory store (one instance plays both). */
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { describeEventFeed } from './events.suite.ts'

describeEventFeed('memory', async (env) => {
  const a = makeApp({ env, clock: fakeClock(Date.UTC(2026, 10, 22)) })
  return { a, b: a, close: async () => {} }
})
