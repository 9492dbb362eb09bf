/**
 * The relay's own JavaScript per delivered message, without `ws` or sockets: `relayService` over fake
 * sockets on the memory store, 50 pairs ping-ponging puts as fast as they can (100-character payloads,
 * limits raised so that they count but never refuse), CPU time (`process.cpuUsage`) per message. Each
 * tree given is loaded in this one process and they take turns (A B, B A, …), so an A/B of a code
 * path sees the same machine; the figures include the fake client's small share.
 *
 * Run: `node --import tsx bench/ws/relay-cpu.ts <tree> [<tree> …]` (absolute paths of qrelay checkouts,
 * the first the reference); BENCH_MESSAGES (50 000 per turn), BENCH_ROUNDS (10).
 *
 * @see BENCHMARKS.md ("WebSocket relay")
 */
import type { RelayConnection } from '../../src/services/relay.ts'

const PAIRS = 50
const PAYLOAD = 'A'.repeat(100)
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 50_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10)
const RAISED = '1000000000/60s'
const TOKEN_AT = '"sequence_token":"'
const trees = process.argv.slice(2)
if (trees.length === 0 || !trees.every((t) => t.startsWith('/'))) throw new Error('give one or more absolute paths of qrelay trees')

/** The modules of one tree, loaded by path (each tree its own instances). */
const modules = async (tree: string) =>
  ({
    ...(await import(`${tree}/src/adapters/pubsub/memory.ts`)),
    ...(await import(`${tree}/src/adapters/storage/memory.ts`)),
    ...(await import(`${tree}/src/adapters/platform/node.ts`)),
    ...(await import(`${tree}/src/config.ts`)),
    ...(await import(`${tree}/src/services/rate-limiter.ts`)),
    ...(await import(`${tree}/src/services/relay.ts`)),
    ...(await import(`${tree}/src/services/rendezvous.ts`)),
  }) as typeof import('../../src/adapters/pubsub/memory.ts') &
    typeof import('../../src/adapters/storage/memory.ts') &
    typeof import('../../src/adapters/platform/node.ts') &
    typeof import('../../src/config.ts') &
    typeof import('../../src/services/rate-limiter.ts') &
    typeof import('../../src/services/relay.ts') &
    typeof import('../../src/services/rendezvous.ts')

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Sets up one tree's relay and pairs; the answer delivers `n` more messages. */
const harness = async (tree: string): Promise<(n: number) => void> => {
  const m = await modules(tree)
  const env = { QRELAY_RATE_WRITES_PER_CHANNEL: RAISED, QRELAY_RATE_CREATE_PER_CLIENT: RAISED, QRELAY_RATE_READS_PER_CHANNEL: RAISED }
  const config = m.parseConfig(env)
  const clock = m.systemClock
  const store = m.memoryStore({ clock, sweepIntervalMs: 0 })
  const events = m.memoryChannelEvents()
  const limiter = m.rateLimiter(store.counters, clock)
  const random = m.cryptoRandom
  const channelIdKeys = [new Uint8Array(32).fill(1)] as const
  const rates = config.rateLimit
  const rendezvous = m.rendezvousService({
    store,
    limiter,
    clock,
    random,
    limits: config.rendezvous,
    rates,
    channelIdKeys,
    events,
    textSha256: m.nodeTextSha256,
  })
  const limits = { helloTimeoutMs: 600_000, idleTimeoutMs: 600_000, maxFrameBytes: 30_000 }
  const relay = m.relayService({ rendezvous, events, clock, random, scheduler: { schedule: () => () => {} }, limits })
  const caller = { clientKey: '192.0.2.1' }
  // Sockets whose turn it is, with the token they answer on (a put per delivered data frame).
  const turns: Array<[RelayConnection, string]> = []
  let delivered = 0
  const open = (id: string): { conn: RelayConnection; welcomeToken: string } => {
    const side = { conn: undefined as unknown as RelayConnection, welcomeToken: '' }
    const socket = {
      send(text: string): void {
        const kind = text.charCodeAt(9) // {"type":"a…, "d…, "w…
        if (kind === 97) return
        const at = text.lastIndexOf(TOKEN_AT) + TOKEN_AT.length
        const token = text.slice(at, text.indexOf('"', at))
        if (kind === 119) side.welcomeToken = token
        else if (kind === 100) {
          delivered++
          turns.push([side.conn, token])
        } else throw new Error(`unexpected frame ${text.slice(0, 40)}`)
      },
      close(code: number, reason: string): void {
        throw new Error(`closed ${code} ${reason}`)
      },
    }
    side.conn = relay.connect(id, socket, caller, m.silentLogger)
    return side
  }
  for (let i = 0; i < PAIRS; i++) {
    const { record, creatorSecret } = await rendezvous.create('native', '', caller)
    const creator = open(record.id)
    creator.conn.text(JSON.stringify({ type: 'hello', secret: creatorSecret }))
    await settle()
    open(record.id).conn.text('{"type":"hello"}')
    await settle()
    turns.push([creator.conn, creator.welcomeToken])
  }
  let next = 0
  const pump = (n: number): void => {
    const stop = delivered + n
    for (let guard = 0; delivered < stop && guard < 4 * n; guard++) {
      const [conn, token] = turns[next++] as [RelayConnection, string]
      conn.text(`{"type":"put","sequence_token":"${token}","data":"${performance.now()}:${PAYLOAD}"}`)
      if (next > 10_000) {
        turns.splice(0, next)
        next = 0
      }
    }
    if (delivered < stop) throw new Error('the pairs stopped answering')
  }
  pump(MESSAGES) // warm-up
  return pump
}

const pumps: Array<(n: number) => void> = []
for (const tree of trees) pumps.push(await harness(tree))
const perMessage = trees.map((): number[] => [])
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < trees.length; k++) {
    const i = round % 2 === 0 ? k : trees.length - 1 - k
    const before = process.cpuUsage()
    pumps[i]?.(MESSAGES)
    const used = process.cpuUsage(before)
    perMessage[i]?.push((used.user + used.system) / MESSAGES)
  }
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN
const reference = perMessage[0] ?? []
trees.forEach((tree, i) => {
  const rounds = perMessage[i] ?? []
  const ratios = rounds.map((us, r) => us / (reference[r] ?? Number.NaN))
  process.stdout.write(
    `${tree}: ${median(rounds).toFixed(2)} µs per message (rounds ${rounds.map((us) => us.toFixed(1)).join(' ')})` +
      (i === 0 ? '\n' : `; × the first per round ${ratios.map((x) => x.toFixed(2)).join(' ')}, median ${median(ratios).toFixed(3)}\n`),
  )
})
