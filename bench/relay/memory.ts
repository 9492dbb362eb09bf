/**
 * Memory per pending channel: heap used (plus ArrayBuffer backing stores) by N channels held in qrelay's memory store, against a bare
 * `Map<string, { data, etag, expires }>` filled the same way (same id and token lengths, same payload
 * strings), all in one process with `--expose-gc` (it re-runs itself with the flag when needed).
 *
 * Scenarios, each with an empty payload (as after an MSC4388 create) and a ~100-byte one, and each with
 * IPv4 clients and with IPv6 clients (network keys of another length; the bare Map is measured again
 * for every row):
 * - store: `memoryStore().channels.create` with records from `createChannel`, each naming its own
 *   client network (as in production, where every login comes from another device);
 * - service: the same through `rendezvousService.create`, wired as `compose` wires it with the default
 *   configuration, so each channel also brings the counters a new client adds on the HTTP create path:
 *   the per-client create rate-limit window (`rl:create:…`, 2 minutes) and the abuse guard's
 *   `channel_created` count (`abuse:…`, two abuse windows), and for an IPv6 client (each channel from
 *   another /48) the create windows of its /56 and /48. The counter cap is sized for them
 *   (`QRELAY_MEMORY_MAX_COUNTERS` ≥ 2 N, 4 N with IPv6, as a deployment holding N pending channels would
 *   set it), so none is evicted.
 *
 * Run: `node --import tsx bench/relay/memory.ts` (BENCH_CHANNELS=100000 by default, at most 2 000 000).
 *
 * @see BENCHMARKS.md (targets and verdicts)
 */
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { parseConfig } from '../../src/config.ts'
import { hasWiderNetworks } from '../../src/core/policy/ipv6-prefixes.ts'
import { createChannel } from '../../src/core/rendezvous/channel.ts'
import { newOpaqueId } from '../../src/core/crypto/secrets.ts'
import { cryptoRandom, systemClock } from '../../src/adapters/platform/node.ts'
import { memoryStore } from '../../src/adapters/storage/memory.ts'
import { abuseGuardFor } from '../../src/services/abuse-guard.ts'
import { rateLimiter } from '../../src/services/rate-limiter.ts'
import { rendezvousService } from '../../src/services/rendezvous.ts'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  // Re-run with the flag, so `npm`-style invocations without it still measure properly.
  const self = fileURLToPath(import.meta.url)
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', self], { stdio: 'inherit', timeout: 3_600_000 })
  process.exit(run.status ?? 1)
}

const N = Number(process.env.BENCH_CHANNELS ?? 100_000)
if (!Number.isInteger(N) || N < 1000 || N > 2_000_000) throw new Error('BENCH_CHANNELS must be 1000..2000000')
const TTL_MS = 120_000

/** A fresh ~100-byte payload string (base64 of random bytes, like a ciphertext). */
const payload100 = (): string => randomBytes(75).toString('base64')
/** A client network key per channel, as `rateKeyOf` writes it: an IPv4 address or an IPv6 /64. */
type Network = (i: number) => string
/** A fresh IPv4 network key per channel. */
const ipv4: Network = (i) => `198.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`
/** A fresh IPv6 /64 key per channel (four full groups, as a residential /64 usually reads). */
const ipv6: Network = (i) => `2a01:cb${(i >>> 15).toString(16).padStart(2, '0')}:${(0x8000 | (i & 0x7fff)).toString(16)}:4100::/64`

/** Heap used plus the ArrayBuffers' backing stores, which live outside the V8 heap (typed arrays). */
const heapUsed = (): number => {
  for (let i = 0; i < 4; i++) gc!()
  const { heapUsed: used, arrayBuffers } = process.memoryUsage()
  return used + arrayBuffers
}

/** Heap bytes per channel that `fill` keeps alive (it returns what holds the channels). */
const measure = async (fill: () => Promise<unknown>): Promise<number> => {
  const before = heapUsed()
  const holder = await fill()
  const after = heapUsed()
  // Keep the holder reachable until after the second measurement.
  if (holder === null) throw new Error('unreachable')
  return (after - before) / N
}

const bareMap = (payload: () => string) => async () => {
  const channels = new Map<string, { data: string; etag: string; expires: number }>()
  const now = Date.now()
  for (let i = 0; i < N; i++) {
    const id = randomBytes(16).toString('base64url')
    const data = payload()
    const etag = createHash('sha256').update(`${id}\u0000${0}\u0000${data}`).digest().subarray(0, 16).toString('base64url')
    channels.set(id, { data, etag, expires: now + TTL_MS })
  }
  return channels
}

const storeOnly = (payload: () => string, network: Network) => async () => {
  const store = memoryStore({ clock: systemClock, sweepIntervalMs: 0 })
  const now = systemClock.now()
  for (let i = 0; i < N; i++) {
    const record = createChannel({
      id: newOpaqueId(cryptoRandom),
      api: 'msc4388',
      data: payload(),
      now,
      ttlMs: TTL_MS,
      creatorNetwork: network(i),
    })
    if ((await store.channels.create(record, N)) !== 'ok') throw new Error('create refused')
  }
  return store
}

const service = (payload: () => string, network: Network) => async () => {
  // Default rates and abuse settings: every channel comes from another client, so none is limited.
  const config = parseConfig({ QRELAY_MAX_LIVE_CHANNELS: String(N) })
  // Two counters per client, and two more for an IPv6 one: its /56 and /48 reservations (finding 48).
  const perChannel = hasWiderNetworks(network(0)) ? 4 : 2
  const store = memoryStore({ clock: systemClock, sweepIntervalMs: 0, maxCounters: perChannel * N + 1000 })
  const limiter = rateLimiter(store.counters, systemClock)
  const abuse = abuseGuardFor(config.abuse, { counters: store.counters, kv: store.kv, clock: systemClock })
  if (abuse === undefined) throw new Error('the abuse guard is on by default')
  const rendezvous = rendezvousService({
    store,
    limiter,
    abuse,
    clock: systemClock,
    random: cryptoRandom,
    limits: config.rendezvous,
    rates: config.rateLimit,
  })
  for (let i = 0; i < N; i++) await rendezvous.create('msc4388', payload(), { clientKey: network(i) })
  const { counters } = store.sizes()
  if (counters !== perChannel * N) throw new Error(`expected ${perChannel} counters per channel, found ${counters / N}`)
  return store
}

const main = async (): Promise<void> => {
  const empty = (): string => ''
  const rows: string[] = []
  process.stdout.write(`# memory per pending channel: ${N.toLocaleString('en-US')} channels, node ${process.version}\n\n`)
  rows.push('| payload | clients | bare Map B/channel | qrelay store B/channel (× bare) | qrelay service B/channel (× bare) |')
  rows.push('| --- | --- | ---: | ---: | ---: |')
  for (const [label, payload] of [
    ['empty (after create)', empty],
    ['~100 bytes', payload100],
  ] as const) {
    for (const [family, network] of [
      ['IPv4', ipv4],
      ['IPv6 /64', ipv6],
    ] as const) {
      const bare = await measure(bareMap(payload))
      const store = await measure(storeOnly(payload, network))
      const viaService = await measure(service(payload, network))
      const f = (n: number): string => n.toFixed(0)
      rows.push(
        `| ${label} | ${family} | ${f(bare)} | ${f(store)} (${(store / bare).toFixed(2)}) | ${f(viaService)} (${(viaService / bare).toFixed(2)}) |`,
      )
    }
  }
  process.stdout.write(`${rows.join('\n')}\n\nTargets: ≤ 1024 B per pending channel and ≤ 2 × the bare Map.\n`)
}

await main()
