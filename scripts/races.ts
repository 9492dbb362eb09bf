/**
 * Races at scale: `npm run races -- --n 10000 --store memory|sqlite|redis|all [--limits raised|default]`.
 * For each store configuration, fires n concurrent attempts at each one-winner intent (claim of one
 * native channel, approval of one grant, redemption of one device code, rotation of one refresh token,
 * use of one recovery code, replays of one DPoP proof) and prints one Markdown table: attempts,
 * winners, losers by status and code, double wins, other answers, time. "redis" runs both the
 * in-process app on Redis and two real qrelay processes on one Redis splitting the attempts.
 * Loopback only; a redis-server is started on a free port unless REDIS_URL is set. Exit code 1 when
 * any race had other than one winner, an undocumented answer, or something minted twice.
 */
import { parseArgs } from 'node:util'
import startRedis from '../test/setup/redis.ts'
import { INTENTS } from '../test/races/intents.ts'
import { isClean, race, table, type RaceResult } from '../test/races/run.ts'
import { makeTarget, transportRetries, type StoreKind } from '../test/races/targets.ts'

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    store: { type: 'string', default: 'all' },
    limits: { type: 'string', default: 'raised' },
    intent: { type: 'string', default: 'all' },
  },
})
const n = Number(values.n)
if (!Number.isInteger(n) || n < 2 || n > 20_000) throw new Error('--n must be an integer in 2..20000')
const stores: StoreKind[] =
  values.store === 'all'
    ? ['memory', 'sqlite', 'redis', 'redis-2p']
    : values.store === 'redis'
      ? ['redis', 'redis-2p']
      : [values.store as StoreKind]
for (const s of stores) if (!['memory', 'sqlite', 'redis', 'redis-2p'].includes(s)) throw new Error(`unknown store ${s}`)
const limits = values.limits === 'default' ? 'default' : 'raised'
const intents = values.intent === 'all' ? INTENTS : INTENTS.filter((i) => i === values.intent)

let redisUrl: string | null = null
let stopRedis: () => Promise<void> = async () => {}
if (stores.some((s) => s.startsWith('redis'))) {
  stopRedis = await startRedis({ provide: (_key: string, url: string | null) => void (redisUrl = url) } as never)
  if (redisUrl === null) throw new Error('no redis-server: install it or set REDIS_URL')
}

const results: RaceResult[] = []
try {
  for (const kind of stores) {
    const target = await makeTarget(kind, { limits, ...(redisUrl === null ? {} : { redisUrl }) })
    try {
      for (const intent of intents) {
        const retriesBefore = transportRetries.count
        const result = await race(target, intent, n)
        results.push(result)
        const retried = transportRetries.count - retriesBefore
        process.stderr.write(
          `${table([result]).split('\n').at(-1)}${retried > 0 ? ` (${retried} requests sent again on a closed socket)` : ''}\n`,
        )
      }
    } finally {
      await target.close()
    }
  }
} finally {
  await stopRedis()
}

console.log(`\nRaces at scale: n = ${n}, limits ${limits}, node ${process.version}\n`)
console.log(table(results))
const races = results.length
const dirty = results.filter((r) => !isClean(r)).length
const doubles = results.reduce((sum, r) => sum + Math.max(0, r.winners - 1), 0)
console.log(
  `\n${races} races, ${races * n} attempts, ${doubles} double wins, ${dirty} races not clean, ${transportRetries.count} requests sent again on a socket the server had closed`,
)
process.exit(dirty === 0 ? 0 : 1)
