/**
 * Fault: a process cut in the middle of a password change (finding 43), two processes on shared
 * stores: memory, and a SQLite file each process opens on its own connection (the suite is in
 * password-change-crash-suite.ts; on Redis in password-change-crash.redis.test.ts).
 */
import { memoryRun, sqliteRuns } from './crash-stores.ts'
import { describePasswordChangeCrash } from './password-change-crash-suite.ts'

describePasswordChangeCrash('memory', memoryRun)
describePasswordChangeCrash('SQLite', sqliteRuns('qrelay-password-crash-'))
