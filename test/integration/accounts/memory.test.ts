import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { describeAccountFlow } from './flow-suite.ts'

describeAccountFlow('memory', async (env) => {
  const t = makeApp({ env, clock: fakeClock(Date.now()) })
  return { t, close: async () => void (await Promise.all([t.store.close(), t.durable.close()])) }
})
