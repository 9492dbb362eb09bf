/** The pinned fuzz counterexamples (pinned-suite.ts) on a real server, memory + SQLite. */
import { afterAll, beforeAll, describe } from 'vitest'
import { pinnedCounterexamples } from './pinned-suite.ts'
import { startFuzzTarget, type FuzzTarget } from './target.ts'

describe('pinned fuzz counterexamples: memory + SQLite', () => {
  let target: FuzzTarget
  beforeAll(async () => {
    target = await startFuzzTarget({ store: 'memory' })
  })
  afterAll(async () => {
    await target?.stop()
  })
  pinnedCounterexamples(() => target)
})
