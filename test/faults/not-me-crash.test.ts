/**
 * Fault: a process cut in the middle of a "not me" report (finding 44), two processes on shared
 * stores: memory, and a SQLite file each process opens on its own connection (the suite is in
 * not-me-crash-suite.ts; on Redis in not-me-crash.redis.test.ts).
 */
import { memoryRun, sqliteRuns } from './crash-stores.ts'
import { describeNotMeCrash } from './not-me-crash-suite.ts'

describeNotMeCrash('memory', memoryRun)
describeNotMeCrash('SQLite', sqliteRuns('qrelay-not-me-crash-'))
