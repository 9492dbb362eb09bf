/**
 * The load client of the WebSocket benchmark, one process (pinned by the runner): opens `pairs`
 * channel pairs on the bare relay or on qrelay, then, by `mode`:
 * - `rate`: ping-pong at a fixed offered rate in total (each pair sends every `pairs / rate` s, the
 *   turn alternating between its two sockets), one-way latency from a `performance.now()` stamp in
 *   the data (both ends live in this process);
 * - `max`: ping-pong as fast as each pair can (closed loop): delivered messages per second;
 * - `hold`: opens the pairs, prints `ready`, waits `seconds`, closes them (memory is read meanwhile).
 * Every socket is closed at the end; the last stdout line is the JSON {@link LoadResult}.
 *
 * Run by `run.ts`: `node --import tsx bench/ws/load.ts '<json options>'`.
 */
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'

/** What the runner asks for. */
export interface LoadOptions {
  target: 'bare' | 'qrelay'
  /** http://host:port of the server. */
  url: string
  pairs: number
  mode: 'rate' | 'max' | 'hold'
  /** Messages per second in total (mode `rate`). */
  rate: number
  seconds: number
  /** Payload size in characters (besides the stamp). */
  payload: number
  /** Second server for the joiners (qrelay on Redis across two processes); default `url`. */
  joinerUrl?: string
}

/** What the runner gets back. */
export interface LoadResult {
  pairs: number
  sent: number
  delivered: number
  /** Frames that were not expected: conflicts, closes before the end, unknown frames. */
  errors: number
  /** Sends that had to wait for the previous message of their pair (rate mode): the rate was not held. */
  late: number
  msgPerSecond: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  p999Ms: number
  maxMs: number
  setupMs: number
  /** CPU seconds this client used during the measured part. */
  clientCpuSeconds: number
}

const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions
const wsUrl = (base: string): string => base.replace(/^http/, 'ws')
const PAD = 'A'.repeat(Math.max(0, options.payload))
const SETUP_CONCURRENCY = 100
const SETTLE_MS = 2000
const CLOSE_WAIT_MS = 5000

type Frame = { type?: string; data?: string; sequence_token?: string; secret?: string; joiner_secret?: string }

/** One end of a pair. */
interface End {
  socket: WebSocket
  /** The token this end writes with next (qrelay). */
  token: string
}

/** One channel pair: `a` (creator) writes first, then the turn alternates. */
interface Pair {
  ends: [End, End]
  /** Index of the end whose turn it is to write; -1 while a message is in flight. */
  turn: number
  /** Set when the schedule came due while a message was in flight (rate mode): send on arrival. */
  dueAt: number | null
}

let measuring = false
let sent = 0
let delivered = 0
let errors = 0
let late = 0
let stopped = false
const latencies: number[] = []

const open = (url: string): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false })
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })

/** Sends `frame` and waits for the first frame back whose type is in `types`. */
const request = (socket: WebSocket, frame: unknown, types: readonly string[]): Promise<Frame> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${types.join('/')} within 30 s`)), 30_000)
    const onMessage = (raw: WebSocket.RawData): void => {
      const parsed = JSON.parse(raw.toString()) as Frame
      if (parsed.type !== undefined && types.includes(parsed.type)) {
        clearTimeout(timer)
        socket.off('message', onMessage)
        resolve(parsed)
      }
    }
    socket.on('message', onMessage)
    socket.once('close', (code, reason) => {
      clearTimeout(timer)
      reject(new Error(`closed ${code} ${reason.toString()}`))
    })
    socket.send(JSON.stringify(frame))
  })

const openBarePair = async (i: number): Promise<[End, End]> => {
  const path = `${wsUrl(options.url)}/bench-${process.pid}-${i}`
  const a = await open(path)
  const b = await open(path)
  return [
    { socket: a, token: 'bare' },
    { socket: b, token: 'bare' },
  ]
}

const openQrelayPair = async (): Promise<[End, End]> => {
  const res = await fetch(`${options.url}/v1/rendezvous`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: '{"data":""}',
  })
  const created = (await res.json()) as { id?: string; creator_secret?: string }
  if (res.status !== 200 || created.id === undefined) throw new Error(`create answered ${res.status}`)
  const path = (base: string): string => `${wsUrl(base)}/v1/rendezvous/${encodeURIComponent(created.id!)}/ws`
  const a = await open(path(options.url))
  const welcomeA = await request(a, { type: 'hello', secret: created.creator_secret }, ['welcome'])
  const b = await open(path(options.joinerUrl ?? options.url))
  const welcomeB = await request(b, { type: 'hello' }, ['welcome'])
  return [
    { socket: a, token: welcomeA.sequence_token ?? '' },
    { socket: b, token: welcomeB.sequence_token ?? '' },
  ]
}

const send = (pair: Pair, from: number, stamp: number): void => {
  const end = pair.ends[from]!
  pair.turn = -1
  pair.dueAt = null
  if (measuring) sent++
  end.socket.send(`{"type":"put","sequence_token":"${end.token}","data":"${stamp.toFixed(4)}:${PAD}"}`)
}

/** Wires the frames each end receives: the peer's message arrives as `put` (bare) or `data` (qrelay). */
const wire = (pair: Pair): void => {
  pair.ends.forEach((end, index) => {
    end.socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as Frame
      if (frame.type === 'ack' || frame.type === 'pong') return
      if ((frame.type !== 'data' && frame.type !== 'put') || frame.data === undefined) {
        if (measuring) errors++
        return
      }
      const now = performance.now()
      if (measuring) {
        delivered++
        latencies.push(now - Number(frame.data.slice(0, frame.data.indexOf(':'))))
      }
      if (frame.type === 'data' && frame.sequence_token !== undefined) end.token = frame.sequence_token
      pair.turn = index
      if (stopped) return
      if (options.mode === 'max') send(pair, index, now)
      else if (pair.dueAt !== null) {
        // The schedule came due while the previous message was in flight: stamp the intended time,
        // so a slow relay shows in the latency instead of silently lowering the offered rate.
        late++
        send(pair, index, pair.dueAt)
      }
    })
    end.socket.on('close', () => {
      if (!stopped) errors++
    })
  })
}

/** Rate mode: each pair's timer fires every period, phase-shifted so that sends spread evenly. */
const schedule = (pairs: Pair[], startAt: number): (() => void) => {
  const period = (pairs.length / options.rate) * 1000
  const timers: NodeJS.Timeout[] = []
  pairs.forEach((pair, i) => {
    let k = 0
    const tick = (): void => {
      if (stopped) return
      const intended = startAt + (i * period) / pairs.length + k * period
      k++
      if (pair.turn >= 0) send(pair, pair.turn, performance.now())
      else pair.dueAt ??= intended
      const next = startAt + (i * period) / pairs.length + k * period
      timers[i] = setTimeout(tick, Math.max(0, next - performance.now()))
    }
    timers[i] = setTimeout(tick, Math.max(0, startAt + (i * period) / pairs.length - performance.now()))
  })
  return () => timers.forEach((t) => clearTimeout(t))
}

const percentile = (sorted: Float64Array, q: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

const closeAll = async (pairs: Pair[]): Promise<void> => {
  stopped = true
  const closing: Promise<void>[] = []
  for (const pair of pairs) {
    for (const { socket } of pair.ends) {
      if (socket.readyState === WebSocket.CLOSED) continue
      closing.push(new Promise((resolve) => socket.once('close', () => resolve())))
      socket.close(1000, 'done')
    }
  }
  const timeout = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), CLOSE_WAIT_MS).unref())
  if ((await Promise.race([Promise.all(closing).then(() => 'ok' as const), timeout])) === 'late') {
    for (const pair of pairs) for (const { socket } of pair.ends) socket.terminate()
  }
}

const main = async (): Promise<void> => {
  const setupStart = performance.now()
  const pairs: Pair[] = []
  for (let i = 0; i < options.pairs; i += SETUP_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(SETUP_CONCURRENCY, options.pairs - i) }, (_, j) =>
      options.target === 'bare' ? openBarePair(i + j) : openQrelayPair(),
    )
    for (const ends of await Promise.all(batch)) pairs.push({ ends, turn: 0, dueAt: null })
  }
  const setupMs = performance.now() - setupStart
  for (const pair of pairs) wire(pair)
  let cpu = process.cpuUsage()
  let measuredStart = performance.now()
  let measuredEnd = measuredStart
  if (options.mode === 'hold') {
    process.stdout.write('ready\n')
    await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000))
  } else {
    measuring = true
    cpu = process.cpuUsage()
    measuredStart = performance.now()
    const stopTimers =
      options.mode === 'rate' ? schedule(pairs, measuredStart) : (pairs.forEach((p) => send(p, 0, performance.now())), () => {})
    await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000))
    measuredEnd = performance.now()
    measuring = false
    stopTimers()
    // Let messages in flight land (not counted) before closing, so no close races a frame.
    stopped = true
    await new Promise((resolve) => setTimeout(resolve, Math.min(SETTLE_MS, 200 + options.seconds * 20)))
  }
  const used = process.cpuUsage(cpu)
  await closeAll(pairs)
  const sorted = Float64Array.from(latencies).sort()
  const result: LoadResult = {
    pairs: pairs.length,
    sent,
    delivered,
    errors,
    late,
    msgPerSecond: delivered / ((measuredEnd - measuredStart) / 1000 || 1),
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    p999Ms: percentile(sorted, 0.999),
    maxMs: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
    setupMs,
    clientCpuSeconds: (used.user + used.system) / 1e6,
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`load failed: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  },
)
