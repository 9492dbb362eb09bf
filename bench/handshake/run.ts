/**
 * Secure-channel handshake benchmark (`node --import tsx bench/handshake/run.ts`):
 * 1. the whole MSC4108 handshake of `src/core/channel` in one process (G start, S createInitiate, G
 *    acceptInitiate, S acceptOk, G confirmCheckCode with S's code, both channel bindings compared),
 *    against the bare X25519 work it contains (two key generations and two shared secrets with
 *    @noble/curves) in the same run, rounds alternating so machine noise falls on both alike;
 * 2. for information, the whole device-SDK flow against a local qrelay server (its own process, pinned
 *    to core 0 when `taskset` works): create → scan → handshake → check code → one message each way →
 *    close, over HTTP (polling every `BENCH_POLL_MS`) and over WebSocket, one flow at a time.
 *
 * Knobs (environment): BENCH_SECONDS (3 per measurement), BENCH_REPS (3), BENCH_FLOWS (concurrent
 * SDK flows, 1), BENCH_POLL_MS (HTTP transport poll interval, 20), BENCH_SERVER_LOG (file: the server
 * logs at `warn` there).
 *
 * `--smoke` (what `npm test` runs, test/integration/bench/handshake-smoke.test.ts): one round of 0.2 s
 * per measurement, short warm-ups; exits 1 if any SDK flow failed or a transport completed none.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { x25519 } from '@noble/curves/ed25519.js'
import WebSocket from 'ws'
import { cryptoRandom } from '../../src/adapters/platform/node.ts'
import { ExistingDevice, NewDevice } from '../../src/client/devices.ts'
import { httpTransport } from '../../src/client/http-transport.ts'
import type { TransportConnector } from '../../src/client/transport.ts'
import { webSocketTransport } from '../../src/client/ws-transport.ts'
import {
  acceptInitiate,
  acceptOk,
  closeChannel,
  confirmCheckCode,
  createInitiate,
  startGenerator,
} from '../../src/core/channel/handshake.ts'
import { freePort, startChild, waitForHttp, type Child } from '../relay/processes.ts'
import { qrelayServerArgs } from '../qrelay-entry.ts'

const num = (name: string, fallback: number, min: number, max: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${name} must be in [${min}, ${max}]`)
  return value
}
const SMOKE = process.argv.includes('--smoke')
const SECONDS = num('BENCH_SECONDS', SMOKE ? 0.2 : 3, 0.1, 60)
const REPS = Math.round(num('BENCH_REPS', SMOKE ? 1 : 3, 1, 20))
/** Seconds of each warm-up (JIT, connections) before the measured rounds. */
const WARMUP_SECONDS = SMOKE ? 0.2 : 1
const FLOWS = Math.round(num('BENCH_FLOWS', 1, 1, 64))
const POLL_MS = num('BENCH_POLL_MS', 20, 1, 5000)

/** One full handshake through src/core/channel; throws if any step fails (it must not). */
const handshake = (): void => {
  const g = startGenerator(cryptoRandom)
  const offer = createInitiate(cryptoRandom, g.key.publicKey)
  if (!offer.ok) throw new Error(`createInitiate: ${offer.detail}`)
  const answer = acceptInitiate(g, offer.value.message)
  if (!answer.ok) throw new Error(`acceptInitiate: ${answer.detail}`)
  const scanner = acceptOk(offer.value.state, answer.value.message)
  if (!scanner.ok) throw new Error(`acceptOk: ${scanner.detail}`)
  const generator = confirmCheckCode(answer.value.state, scanner.value.checkCode)
  if (!generator.ok) throw new Error(`confirmCheckCode: ${generator.detail}`)
  if (generator.value.channelBinding !== scanner.value.channelBinding) throw new Error('channel bindings differ')
  closeChannel(generator.value)
  closeChannel(scanner.value)
}

/** The curve math inside one handshake: each side makes a key pair and computes the shared secret. */
const bareX25519 = (): void => {
  const gSecret = cryptoRandom.bytes(32)
  const gPublic = x25519.getPublicKey(gSecret)
  const sSecret = cryptoRandom.bytes(32)
  const sPublic = x25519.getPublicKey(sSecret)
  const a = x25519.getSharedSecret(sSecret, gPublic)
  const b = x25519.getSharedSecret(gSecret, sPublic)
  if (a[0] !== b[0]) throw new Error('shared secrets differ')
}

/** Runs `op` for `seconds` (checking the clock every 8 calls); returns ops per second. */
const opsPerSecond = (op: () => void, seconds: number): number => {
  const end = performance.now() + seconds * 1000
  const start = performance.now()
  let n = 0
  while (performance.now() < end) {
    for (let i = 0; i < 8; i++) op()
    n += 8
  }
  return n / ((performance.now() - start) / 1000)
}

/** One login channel through the SDK: show, scan, handshake, check code, a message each way, close. */
const sdkFlow = async (baseUrl: string, connector: () => TransportConnector): Promise<void> => {
  const shown = await NewDevice.showQr({ baseUrl, transport: connector() })
  const scan = await ExistingDevice.scanQr(shown.qrLink, { baseUrl, transport: connector() })
  try {
    await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scan.connect({ timeoutMs: 10_000 })])
    await shown.confirmCheckCode(scan.checkCode)
    await Promise.all([scan.send({ type: 'm.login.protocols' }), shown.receive({ timeoutMs: 10_000 })])
    await Promise.all([shown.send({ type: 'm.login.protocol' }), scan.receive({ timeoutMs: 10_000 })])
  } finally {
    await scan.close().catch(() => {})
    await shown.close().catch(() => {})
  }
}

/** Failed SDK flows (counted, not fatal: the run goes on), and the first error of each kind. */
const failures = new Map<string, number>()

/**
 * Flows per second with `FLOWS` running at once, for `seconds` (flows in progress at the end finish).
 * A failed flow is not counted as done; its error is kept in {@link failures}.
 */
const flowsPerSecond = async (run: () => Promise<void>, seconds: number, label: string): Promise<number> => {
  const start = performance.now()
  const end = start + seconds * 1000
  let done = 0
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      try {
        await run()
        done++
      } catch (error) {
        const key = `${label}: ${error instanceof Error ? error.message : String(error)}`
        failures.set(key, (failures.get(key) ?? 0) + 1)
      }
    }
  }
  await Promise.all(Array.from({ length: FLOWS }, worker))
  return done / ((performance.now() - start) / 1000)
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const row = (label: string, xs: readonly number[], digits = 0): string =>
  `| ${label} | ${fmt(median(xs), digits)} | ${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)} |`

const startServer = async (dataDir: string): Promise<{ url: string; child: Child }> => {
  const port = await freePort()
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith('QRELAY_')) env[name] = value
  const child = await startChild(process.execPath, qrelayServerArgs(), {
    core: 0,
    env: {
      ...env,
      QRELAY_HOST: '127.0.0.1',
      QRELAY_PORT: String(port),
      QRELAY_LOG_LEVEL: process.env.BENCH_SERVER_LOG === undefined ? 'silent' : 'warn',
      QRELAY_DATA_DIR: dataDir,
      QRELAY_RATE_CREATE_PER_CLIENT: '1000000000/60s',
      QRELAY_RATE_WRITES_PER_CHANNEL: '1000000000/60s',
      QRELAY_RATE_READS_PER_CHANNEL: '1000000000/60s',
    },
    stdout: process.env.BENCH_SERVER_LOG === undefined ? 'null' : 'pipe',
  })
  if (process.env.BENCH_SERVER_LOG !== undefined) child.process.stdout?.pipe(createWriteStream(process.env.BENCH_SERVER_LOG))
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/healthz`, 30_000, child)
  return { url, child }
}

const main = async (): Promise<void> => {
  process.stderr.write(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  )
  // Warm-up: both compiled before the first measured round.
  opsPerSecond(handshake, WARMUP_SECONDS)
  opsPerSecond(bareX25519, WARMUP_SECONDS)
  const full: number[] = []
  const bare: number[] = []
  const ratio: number[] = []
  for (let rep = 0; rep < REPS; rep++) {
    const h = opsPerSecond(handshake, SECONDS)
    const x = opsPerSecond(bareX25519, SECONDS)
    full.push(h)
    bare.push(x)
    ratio.push(h / x)
    process.stderr.write(`round ${rep + 1}: handshake ${h.toFixed(1)}/s, bare X25519 ${x.toFixed(1)}/s\n`)
  }

  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-bench-hs-'))
  const http: number[] = []
  const ws: number[] = []
  let server: { url: string; child: Child } | undefined
  try {
    server = await startServer(dataDir)
    const { url } = server
    const viaHttp = (): TransportConnector => httpTransport({ baseUrl: url, pollIntervalMs: POLL_MS })
    const viaWs = (): TransportConnector => webSocketTransport({ baseUrl: url, WebSocket })
    await flowsPerSecond(() => sdkFlow(url, viaHttp), WARMUP_SECONDS, 'HTTP warm-up')
    await flowsPerSecond(() => sdkFlow(url, viaWs), WARMUP_SECONDS, 'WebSocket warm-up')
    for (let rep = 0; rep < REPS; rep++) {
      http.push(await flowsPerSecond(() => sdkFlow(url, viaHttp), SECONDS, 'HTTP'))
      ws.push(await flowsPerSecond(() => sdkFlow(url, viaWs), SECONDS, 'WebSocket'))
      process.stderr.write(`round ${rep + 1}: SDK flow HTTP ${http.at(-1)!.toFixed(1)}/s, WebSocket ${ws.at(-1)!.toFixed(1)}/s\n`)
    }
  } finally {
    await server?.child.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }

  const lines = [
    `### Handshake in process, ${REPS} rounds × ${SECONDS} s`,
    '',
    '| measure | per second, median | range |',
    '| --- | ---: | ---: |',
    row('full handshake (src/core/channel)', full),
    row('bare X25519 (2 keygen + 2 shared secrets)', bare),
    row('**ratio handshake / bare X25519**', ratio, 3),
    '',
    `### SDK flow against a local server, ${FLOWS} at a time, ${REPS} rounds × ${SECONDS} s`,
    '',
    '| transport | flows per second, median | range |',
    '| --- | ---: | ---: |',
    row(`HTTP (poll every ${POLL_MS} ms)`, http, 1),
    row('WebSocket', ws, 1),
  ]
  for (const [what, count] of failures) lines.push(`- failed flows: ${count} × ${what}`)
  process.stdout.write(`${lines.join('\n')}\n`)
  // The smoke mode judges no figure, only that every flow went through.
  if (SMOKE && (failures.size > 0 || Math.min(...http, ...ws) <= 0)) throw new Error('smoke: an SDK flow failed or none completed')
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  },
)
