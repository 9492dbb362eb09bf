/**
 * Memory under abuse (`npm run bench:memory -- [--smoke] [--only a,b]`): qrelay (memory store) as a
 * child process, a fresh one per scenario, its RSS read from outside (`/proc/<pid>/status`, every
 * 200 ms for the peak) and its heap after full GCs (SIGUSR2 probe, `bench/ws/memory-probe.ts`), before
 * the load, at its peak, and after everything it created has expired. Scenarios (bounded, loopback):
 *
 * - `ids`: 1 000 000 GETs of made-up channel ids (the three APIs in turn), 64 keep-alive connections
 *   from one address, default limits; the same load on the bare `node:http` baseline of the relay
 *   benchmark (`bench/relay/bare-server.ts`) in the same run;
 * - `channels`: 100 000 channels created (the three APIs in turn) and abandoned, each from its own
 *   network through the trusted `X-Forwarded-For` of a loopback proxy (so the per-address create limit
 *   is not what is measured), QRELAY_MAX_LIVE_CHANNELS raised to 200 000;
 * - `ws`: 10 000 native channels, a WebSocket on each that says hello and then stays idle until the
 *   relay's idle timeout closes it;
 * - `slow`: 10 000 sockets that send the first lines of a request and stall (slowloris); the same on
 *   the bare baseline.
 *
 * Bench settings (environment of the child): memory sweep every 1 s, channel TTLs `--ttl-seconds`
 * (default 60), the abuse window 60 s in `channels`, WebSocket idle timeout 30 s, log level silent. Exit code 1 when a ceiling is missed.
 * `--smoke`: tiny counts, one server for all, no baselines, no wait for expiry (the mechanics only, for `npm test`).
 * Counts: --ids, --channels, --sockets, --slow; --only ids,channels,ws,slow; --targets bare,qrelay.
 */
import { cpus, loadavg } from 'node:os'
import { execSync } from 'node:child_process'
import { freePort, startChild, waitForHttp, type Child } from '../relay/processes.ts'
import { abandonedChannels, idleWebSockets, madeUpIds, slowClients, type Held, type Statuses } from './abuse.ts'
import { baseEnv, fdsOf, heapOf, MiB, PROBE_ARGS, rssOf } from './probe.ts'
import { qrelayServerScript } from '../qrelay-entry.ts'

const SMOKE = process.argv.includes('--smoke')
/** The abuse guard's window in the `channels` scenario: the shortest the setting allows. */
const ABUSE_WINDOW_SECONDS = 60
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? undefined : process.argv[i + 1]
}
const intArg = (name: string, fallback: number, max: number): number => {
  const value = Number(arg(name) ?? fallback)
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`--${name} must be a whole number in [1, ${max}]`)
  return value
}
const IDS = intArg('ids', SMOKE ? 500 : 1_000_000, 5_000_000)
const CHANNELS = intArg('channels', SMOKE ? 150 : 100_000, 500_000)
const SOCKETS = intArg('sockets', SMOKE ? 100 : 10_000, 15_000)
const SLOW = intArg('slow', SMOKE ? 100 : 10_000, 15_000)
const TTL_SECONDS = intArg('ttl-seconds', 60, 3600)
const WS_IDLE_MS = 30_000
const SWEEP_MS = 1000
const ALL = ['ids', 'channels', 'ws', 'slow'] as const
type ScenarioName = (typeof ALL)[number]
/** Which servers the scenarios with a baseline run on (`--targets bare,qrelay`). */
const TARGETS = (arg('targets') ?? 'bare,qrelay').split(',')
const ONLY = (arg('only') ?? ALL.join(',')).split(',').filter((s): s is ScenarioName => (ALL as readonly string[]).includes(s))

/** A probed server process. */
type Server = { url: string; child: Child & { process: import('node:child_process').ChildProcess } }

const startServer = async (kind: 'qrelay' | 'bare', env: Record<string, string> = {}): Promise<Server> => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const script = kind === 'qrelay' ? qrelayServerScript() : 'bench/relay/bare-server.ts'
  const child = await startChild(process.execPath, [...PROBE_ARGS, script], {
    core: 0,
    env: {
      ...baseEnv(),
      PORT: String(port),
      QRELAY_HOST: '127.0.0.1',
      QRELAY_PORT: String(port),
      QRELAY_LOG_LEVEL: 'silent',
      QRELAY_MEMORY_SWEEP_INTERVAL_MS: String(SWEEP_MS),
      QRELAY_MSC4108_TTL_SECONDS: String(TTL_SECONDS),
      QRELAY_MSC4388_TTL_SECONDS: String(TTL_SECONDS),
      QRELAY_NATIVE_TTL_SECONDS: String(TTL_SECONDS),
      QRELAY_WS_IDLE_TIMEOUT_MS: String(WS_IDLE_MS),
      QRELAY_DATA_DIR: `/tmp/qrelay-bench-memory-${process.pid}`,
      ...env,
    },
  })
  await waitForHttp(`${url}/healthz`, 30_000, child)
  return { url, child: child as Server['child'] }
}

/** RSS (outside) and heap after full GCs (probe), MiB. */
interface Reading {
  rssMiB: number
  heapMiB: number
  fds: number
}
const read = async (server: Server): Promise<Reading> => {
  const heap = await heapOf(server.child)
  return { rssMiB: rssOf(server.child.pid).rssMiB, heapMiB: heap.heapUsed / MiB, fds: fdsOf(server.child.pid) }
}

/** Samples RSS every 200 ms until stopped; returns the highest seen. */
const peakSampler = (pid: number): { stop(): number } => {
  let peak = 0
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOf(pid).rssMiB)
  }, 200)
  return {
    stop() {
      clearInterval(timer)
      return Math.max(peak, rssOf(pid).rssMiB)
    },
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits until `done()` or `ms` passed; returns the seconds waited. */
const waitUntil = async (done: () => boolean, ms: number): Promise<number> => {
  const t0 = Date.now()
  while (!done() && Date.now() - t0 < ms) await sleep(250)
  return (Date.now() - t0) / 1000
}

interface Row {
  scenario: string
  target: string
  load: string
  statuses: Statuses
  before: Reading
  peakMiB: number
  loaded: Reading
  after: Reading | undefined
  afterNote: string
  /** Ceilings on RSS growth over `before`, MiB (none for baselines). */
  ceiling?: { peak: number; after: number }
}

/**
 * One scenario on a fresh server: a small warm-up of the same load, a reading, the load (peak
 * sampled), a reading with the load still held, then `expire` (waits past the TTLs and lets held
 * sockets go) and a last reading.
 */
const measure = async (
  scenario: string,
  target: 'qrelay' | 'bare',
  env: Record<string, string>,
  warmUp: (url: string) => Promise<unknown>,
  load: (url: string) => Promise<{ statuses: Statuses; text: string; held?: Held }>,
  expire: (held: Held | undefined) => Promise<string>,
  ceiling?: Row['ceiling'],
): Promise<Row> => {
  const server = SMOKE ? await smokeServer() : await startServer(target, env)
  try {
    await warmUp(server.url)
    await sleep(SMOKE ? 200 : 2000)
    const before = await read(server)
    const sampler = peakSampler(server.child.pid)
    const done = await load(server.url)
    const loaded = await read(server)
    const peakMiB = Math.max(sampler.stop(), loaded.rssMiB)
    process.stderr.write(
      `  ${scenario} on ${target}: ${done.text}; RSS ${before.rssMiB.toFixed(1)} → peak ${peakMiB.toFixed(1)} MiB; waiting for expiry\n`,
    )
    let afterNote = 'not waited (smoke)'
    let after: Reading | undefined
    if (!SMOKE) {
      afterNote = await expire(done.held)
      after = await read(server)
    }
    done.held?.release()
    return {
      scenario,
      target,
      load: done.text,
      statuses: done.statuses,
      before,
      peakMiB,
      loaded,
      after,
      afterNote,
      ...(ceiling ? { ceiling } : {}),
    }
  } finally {
    if (!SMOKE) await server.child.stop()
  }
}

/** The smoke run's one server (every scenario's settings at once), started on first use. */
let shared: Promise<Server> | undefined
const smokeServer = (): Promise<Server> =>
  (shared ??= startServer('qrelay', { QRELAY_TRUSTED_PROXY_HEADER: 'x-forwarded-for', QRELAY_MAX_LIVE_CHANNELS: '200000' }))

/** Waits `seconds` (past TTLs, windows and a sweep); returns the note. */
const pastExpiry =
  (seconds: number) =>
  async (held: Held | undefined): Promise<string> => {
    held?.release()
    await sleep(seconds * 1000)
    return `${seconds} s later`
  }

const scenarios: Record<ScenarioName, () => Promise<Row[]>> = {
  ids: async () => {
    const warm = (url: string) => madeUpIds(url, SMOKE ? 100 : 2000, 16)
    const run = async (url: string) => {
      const r = await madeUpIds(url, IDS, 64)
      return { statuses: r.statuses, text: `${IDS.toLocaleString('en-US')} GETs in ${r.seconds.toFixed(0)} s (${r.rps.toFixed(0)}/s)` }
    }
    // Read limits count per channel id in 60 s sliding windows, a counter living two windows: wait
    // past that and a sweep.
    const wait = pastExpiry(125)
    return [
      ...(SMOKE || !TARGETS.includes('bare') ? [] : [await measure('made-up ids', 'bare', {}, warm, run, wait)]),
      ...(TARGETS.includes('qrelay') ? [await measure('made-up ids', 'qrelay', {}, warm, run, wait, { peak: 64, after: 16 })] : []),
    ]
  },
  channels: async () => {
    const env = { QRELAY_TRUSTED_PROXY_HEADER: 'x-forwarded-for', QRELAY_MAX_LIVE_CHANNELS: '200000' }
    const run = async (url: string) => {
      const r = await abandonedChannels(url, CHANNELS, 64)
      return { statuses: r.statuses, text: `${CHANNELS.toLocaleString('en-US')} creates in ${r.seconds.toFixed(0)} s` }
    }
    // Channels live TTL_SECONDS, create counters 60 s, the abuse guard's counters two of its windows:
    // its window at the shortest the setting allows (60 s), as the channel TTL is, so that "after
    // expiry" is after everything the load created has expired. The peak carries them all.
    return [
      await measure(
        'channels created and abandoned',
        'qrelay',
        { ...env, QRELAY_ABUSE_WINDOW_SECONDS: String(ABUSE_WINDOW_SECONDS) },
        (url) => abandonedChannels(url, 200, 16),
        run,
        pastExpiry(Math.max(TTL_SECONDS, 60, 2 * ABUSE_WINDOW_SECONDS) + 5),
        { peak: 256, after: 32 },
      ),
    ]
  },
  ws: async () => {
    const env = { QRELAY_TRUSTED_PROXY_HEADER: 'x-forwarded-for', QRELAY_MAX_LIVE_CHANNELS: '200000' }
    const run = async (url: string) => {
      const held = await idleWebSockets(url, SOCKETS, 64)
      return { statuses: held.statuses, held, text: `${SOCKETS.toLocaleString('en-US')} sockets opened in ${held.seconds.toFixed(0)} s` }
    }
    const expire = async (held: Held | undefined): Promise<string> => {
      const waited = await waitUntil(() => held!.closedByServer() >= SOCKETS, WS_IDLE_MS + 60_000)
      const closed = held!.closedByServer()
      held!.release()
      const rest = Math.max(0, TTL_SECONDS + 5 - waited)
      await sleep(rest * 1000)
      return `${closed} closed by the relay within ${waited.toFixed(0)} s; read ${(waited + rest).toFixed(0)} s after the load`
    }
    return [
      await measure('idle WebSockets', 'qrelay', env, async (url) => (await idleWebSockets(url, 20, 8)).release(), run, expire, {
        peak: 256,
        after: 32,
      }),
    ]
  },
  slow: async () => {
    const env = { QRELAY_TRUSTED_PROXY_HEADER: 'x-forwarded-for' }
    const run = async (url: string) => {
      const held = await slowClients(url, SLOW, 256)
      return { statuses: held.statuses, held, text: `${SLOW.toLocaleString('en-US')} stalled requests in ${held.seconds.toFixed(0)} s` }
    }
    const expire = async (held: Held | undefined): Promise<string> => {
      // Node's headersTimeout (60 s) is checked every 30 s: give it 100 s, then let the rest go.
      const waited = await waitUntil(() => held!.closedByServer() >= SLOW, 100_000)
      const closed = held!.closedByServer()
      held!.release()
      await sleep(5000)
      return `${closed} of ${SLOW} closed by the server within ${waited.toFixed(0)} s${closed < SLOW ? ' (the rest closed by the client)' : ''}`
    }
    const warm = async (url: string) => (await slowClients(url, 20, 8)).release()
    return [
      ...(SMOKE || !TARGETS.includes('bare') ? [] : [await measure('slow clients', 'bare', env, warm, run, expire)]),
      ...(TARGETS.includes('qrelay') ? [await measure('slow clients', 'qrelay', env, warm, run, expire, { peak: 128, after: 16 })] : []),
    ]
  },
}

const fmt = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(1))
const statusText = (s: Statuses): string =>
  Object.entries(s)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ×${v.toLocaleString('en-US')}`)
    .join(', ')

const main = async (): Promise<void> => {
  const ulimit = execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim()
  const rows: Row[] = []
  try {
    for (const name of ONLY) rows.push(...(await scenarios[name]()))
  } finally {
    if (shared !== undefined) await (await shared).child.stop()
  }
  const lines = [
    `# memory under abuse — ${new Date().toISOString()}${SMOKE ? ' (smoke)' : ''}`,
    `cpu: ${cpus()[0]?.model ?? 'unknown'} ×${cpus().length} (load average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}); node ${process.version}; open files limit ${ulimit}`,
    `qrelay memory store; bench settings: channel TTLs ${TTL_SECONDS} s, WebSocket idle timeout ${WS_IDLE_MS / 1000} s, abuse window ${ABUSE_WINDOW_SECONDS} s (channels), sweep every ${SWEEP_MS / 1000} s; a fresh process per row`,
    '',
    '| scenario | server | load | answers | RSS before | RSS peak (+growth) | RSS after expiry (+growth) | heap before → loaded → after | ceiling peak / after | met |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ]
  let allMet = true
  for (const r of rows) {
    const grow = r.peakMiB - r.before.rssMiB
    const left = r.after === undefined ? Number.NaN : r.after.rssMiB - r.before.rssMiB
    let met = '–'
    if (r.ceiling !== undefined) {
      const ok = grow <= r.ceiling.peak && (r.after === undefined || left <= r.ceiling.after)
      allMet &&= ok
      met = ok ? 'yes' : 'NO'
    }
    lines.push(
      `| ${r.scenario} | ${r.target} | ${r.load} | ${statusText(r.statuses)} | ${fmt(r.before.rssMiB)} | ${fmt(r.peakMiB)} (+${fmt(grow)}) | ${fmt(r.after?.rssMiB)} (${r.after ? `+${fmt(left)}` : '–'}; ${r.afterNote}) | ${fmt(r.before.heapMiB)} → ${fmt(r.loaded.heapMiB)} → ${fmt(r.after?.heapMiB)} | ${r.ceiling ? `+${r.ceiling.peak} / +${r.ceiling.after} MiB` : 'baseline'} | ${met} |`,
    )
  }
  const bare = rows.find((r) => r.scenario === 'made-up ids' && r.target === 'bare')
  const ours = rows.find((r) => r.scenario === 'made-up ids' && r.target === 'qrelay')
  if (bare && ours) {
    lines.push(
      '',
      `Made-up ids: qrelay's RSS growth at peak is ${fmt(ours.peakMiB - ours.before.rssMiB)} MiB against ${fmt(bare.peakMiB - bare.before.rssMiB)} MiB for the bare node:http server under the same load.`,
    )
  }
  lines.push('', `Ceilings ${allMet ? 'met' : 'NOT met'}.`, '')
  process.stdout.write(lines.join('\n'))
  process.exitCode = allMet || SMOKE ? 0 : 1
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
