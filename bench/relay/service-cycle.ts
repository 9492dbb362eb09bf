/**
 * CPU per MSC4388 login cycle (create → PUT → GET → GET → DELETE) of the rendezvous service alone, in
 * this process, on the memory store with Node's HMAC and SHA-256 (as `node-server.ts` composes it), no
 * abuse guard (as `run.ts` starts qrelay): the service's own cost, without HTTP. Each tree given runs
 * the cycle through its asynchronous methods (`async`) and, where it has them, through the methods
 * answered at once (`now`, `rendezvousNow`); the variants take turns, so the machine's load spreads over
 * all of them. Prints the median CPU µs per cycle of each variant, and per round.
 *
 * Run: `node --import tsx bench/relay/service-cycle.ts [tree …]` (default: this tree), e.g.
 * `node --import tsx bench/relay/service-cycle.ts . ../base`. Knobs: CYCLES (20000 per round), ROUNDS (7).
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const CYCLES = Math.min(1_000_000, Math.max(100, Number(process.env.CYCLES ?? 20_000)))
const ROUNDS = Math.min(50, Math.max(1, Number(process.env.ROUNDS ?? 7)))
const trees = process.argv.length > 2 ? process.argv.slice(2) : ['.']
const PAYLOAD = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkrLzAxMjM0NTY3'

type Cycle = () => Promise<void> | void

const load = async (tree: string): Promise<Record<string, Cycle>> => {
  const src = (path: string) => import(pathToFileURL(resolve(tree, 'src', path)).href)
  const { memoryStore } = await src('adapters/storage/memory.ts')
  const { cryptoRandom, nodeHmacSha256, nodeTextSha256, systemClock } = await src('adapters/platform/node.ts')
  const { parseConfig } = await src('config.ts')
  const { rateLimiter } = await src('services/rate-limiter.ts')
  const { rendezvousService } = await src('services/rendezvous.ts')
  const config = parseConfig({ QRELAY_RATE_CREATE_PER_CLIENT: '1000000000/60s', QRELAY_ABUSE_ENABLED: 'false' })
  const store = memoryStore({ clock: systemClock, sweepIntervalMs: 0 })
  const rendezvous = rendezvousService({
    store,
    limiter: rateLimiter(store.counters, systemClock),
    clock: systemClock,
    random: cryptoRandom,
    limits: config.rendezvous,
    rates: config.rateLimit,
    hmacSha256: nodeHmacSha256,
    textSha256: nodeTextSha256,
  })
  const caller = { clientKey: '127.0.0.1', address: '127.0.0.1' }
  const cycles: Record<string, Cycle> = {
    async: async () => {
      const { record } = await rendezvous.create('msc4388', '', caller)
      const written = await rendezvous.write('msc4388', record.id, PAYLOAD, record.token, caller, null)
      await rendezvous.read('msc4388', record.id, caller, null)
      await rendezvous.read('msc4388', record.id, caller, null)
      await rendezvous.remove('msc4388', written.record.id, caller, null)
    },
  }
  const now =
    rendezvous.inProcessParts === undefined ? undefined : (await src('services/rendezvous-now.ts')).rendezvousNow(rendezvous.inProcessParts)
  if (now !== undefined) {
    cycles.now = () => {
      const { record } = now.create('msc4388', '', caller)
      now.write('msc4388', record.id, PAYLOAD, record.token, caller)
      now.read('msc4388', record.id, caller)
      now.read('msc4388', record.id, caller)
      now.remove('msc4388', record.id, caller)
    }
  }
  return cycles
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const variants: [string, Cycle][] = []
for (const tree of trees) for (const [name, cycle] of Object.entries(await load(tree))) variants.push([`${tree} ${name}`, cycle])

const perRound = new Map<string, number[]>(variants.map(([name]) => [name, []]))
for (let round = 0; round <= ROUNDS; round++) {
  const order = round % 2 === 0 ? variants : [...variants].reverse()
  for (const [name, cycle] of order) {
    const started = process.cpuUsage()
    for (let i = 0; i < CYCLES; i++) await cycle()
    const used = process.cpuUsage(started)
    // Round 0 warms up (JIT, the store's tables).
    if (round > 0) perRound.get(name)!.push((used.user + used.system) / CYCLES)
  }
}
for (const [name, values] of perRound) {
  console.log(
    `${name.padEnd(24)} median ${median(values).toFixed(2)} µs CPU per cycle; rounds ${values.map((v) => v.toFixed(1)).join(' ')}`,
  )
}
