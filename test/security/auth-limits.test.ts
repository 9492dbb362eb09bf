/**
 * Guess limits on the memory app (findings 2 and 3): see `auth-limits-suite.ts`.
 */
import { makeApp } from '../helpers/make-app.ts'
import { describeAuthLimits } from './auth-limits-suite.ts'

describeAuthLimits('memory', async (env) => ({ t: makeApp({ env }), close: async () => {} }))
