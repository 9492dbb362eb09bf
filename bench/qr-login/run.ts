/**
 * QR login benchmark (`npm run bench:qr-login`): full QR logins per second through the real HTTP server
 * (Node, embedded SQLite store), one at a time and `BENCH_CONCURRENCY` at once, against the bare cost of
 * the same cryptography without HTTP, in the same run and the same process as the devices.
 *
 * Layout (`BENCH_LAYOUT`, `server-layout.ts`; printed above the table and in its first heading):
 * `two-process` (default) runs the server as `src/runtime/node.ts` in a child process pinned to core 0
 * and the devices and the bare crypto here, pinned to core 1, as a deployment has the server on a
 * machine of its own; `one-process` runs all three on this thread (a login's latency is then the sum
 * of the server's and both devices' CPU). The user and its password session are set up over HTTP
 * (admin API, `POST /v1/login`) either way. Two processes also take BENCH_PIN=0 (neither pinned) and
 * BENCH_SERVER_TREE (another checkout's server, for an A/B of server changes).
 *
 * One login, as an app runs it with the device SDK: the new device shows a native channel and the
 * existing device scans it (over each transport of `BENCH_TRANSPORTS`: HTTP polling every
 * `BENCH_POLL_MS`, or the WebSocket); ECDH handshake, check code; then `signIn` and `approveSignIn`
 * side by side: the new device asks `POST /oauth2/device_authorization` (DPoP proof, channel binding)
 * and sends the user code over the channel; the existing device (password session, Bearer) reads
 * `GET /v1/approvals/{user_code}`, approves with `POST`, and says so over the channel; the new device
 * polls `POST /oauth2/token` (at once, a long poll: `Prefer: wait`) and gets DPoP-bound tokens (server poll interval 1 s).
 * Baseline: the whole `src/core/channel` handshake (X25519 ×2, HKDF), one AEAD message each way, and
 * two ES256 DPoP proofs signed (jose) and verified (the server's `verifyDpopProof`).
 * Rounds alternate baseline and logins so machine noise falls on both alike. Reported: logins per
 * second (median and range of the rounds), and the latency of one login at a time (p50 and p99 over
 * every sequential login of every round) against the bare crypto's, the target's figure.
 *
 * Knobs (environment): BENCH_LOGINS (logins per round and mode, 20), BENCH_CONCURRENCY (8),
 * BENCH_REPS (3), BENCH_POLL_MS (SDK transport poll interval, 20), BENCH_TRANSPORTS (http,websocket),
 * BENCH_STEPS (set: also the time of each step of the sequential logins, from the SDK's `onStep`: p50 and
 * mean, with the event loop's idle time and the CPU time within it, means: they add up to the login),
 * BENCH_CPU_PROF (a path prefix: one CPU profile of each mode's sequential logins per round,
 * `<prefix>.<transport>.<round>.cpuprofile`, sampled every 100 µs; the baseline and the concurrent
 * logins are not in it).
 * BENCH_SERVER_CPU_PROF (a directory; two processes only): the server child runs with `--cpu-prof`
 * and writes one profile of its whole life there when it stops. In two processes BENCH_CPU_PROF and
 * BENCH_STEPS' idle and CPU columns are the devices' process alone (idle includes waiting on the server).
 * Also reported: this process's event loop busy time per sequential login (`performance.eventLoopUtilization`):
 * in one process server and devices share the thread, so a latency close to it means the login waits
 * on work, not on a poll or a timer. And the CPU time per sequential login: this process's
 * (`process.cpuUsage`, user + system, the thread's work plus libuv's crypto jobs), the server child's
 * (`/proc/<pid>/stat`, 10 ms ticks over a round) and their sum: the figure that holds on a loaded
 * machine (an fsync's wait is not CPU time; the event loop's busy time counts it).
 *
 * `--smoke` (what `npm test` runs, test/integration/bench/qr-login-smoke.test.ts): 2 logins per mode,
 * one round, 2 at once; any login that is not approved with tokens exits 1 (as in the full run).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Session } from 'node:inspector/promises'
import { performance } from 'node:perf_hooks'
import { benchDpopKey } from '../dpop-key.ts'
import WebSocket from 'ws'
import { cryptoRandom } from '../../src/adapters/platform/node.ts'
import { approveSignIn, ExistingDevice, NewDevice, signIn } from '../../src/client/devices.ts'
import { httpTransport } from '../../src/client/http-transport.ts'
import { webSocketTransport } from '../../src/client/ws-transport.ts'
import {
  acceptInitiate,
  acceptOk,
  closeChannel,
  confirmCheckCode,
  createInitiate,
  startGenerator,
} from '../../src/core/channel/handshake.ts'
import { decryptMessage, encryptMessage } from '../../src/core/channel/secure-message.ts'
import { verifyDpopProof } from '../../src/services/dpop.ts'
import { BENCH_ADMIN_TOKEN } from './server-env.ts'
import { layoutOf, startBenchServer } from './server-layout.ts'

const num = (name: string, fallback: number, max: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value <= 0 || value > max) throw new Error(`${name} must be a whole number in (0, ${max}]`)
  return value
}
const SMOKE = process.argv.includes('--smoke')
const LOGINS = num('BENCH_LOGINS', SMOKE ? 2 : 20, 10_000)
const CONCURRENCY = num('BENCH_CONCURRENCY', SMOKE ? 2 : 8, 64)
const REPS = num('BENCH_REPS', SMOKE ? 1 : 3, 20)
const POLL_MS = num('BENCH_POLL_MS', 20, 5000)
const STEPS = process.env.BENCH_STEPS !== undefined
/** BENCH_CPU_PROF=<file>: a CPU profile (`.cpuprofile`) of the sequential logins alone (no baseline, no concurrent rounds). */
const CPU_PROF = process.env.BENCH_CPU_PROF
/** Sampling interval of BENCH_CPU_PROF, µs. */
const CPU_PROF_INTERVAL_US = 100
/** BENCH_LAYOUT: `two-process` (default; the server in a child process of its own) or `one-process` (`server-layout.ts`). */
const LAYOUT = layoutOf(process.env.BENCH_LAYOUT)
/** BENCH_SERVER_CPU_PROF=<dir>: the server child runs with `--cpu-prof` and writes its profile (whole run) there on exit. */
const SERVER_CPU_PROF = process.env.BENCH_SERVER_CPU_PROF
const TRANSPORTS = (process.env.BENCH_TRANSPORTS ?? 'http,websocket').split(',').map((t) => t.trim())
for (const t of TRANSPORTS) if (t !== 'http' && t !== 'websocket') throw new Error(`BENCH_TRANSPORTS: unknown transport ${t}`)
type TransportName = 'http' | 'websocket'
const PASSWORD = 'correct horse battery staple'
const ADMIN = BENCH_ADMIN_TOKEN

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
/** The `q` quantile (nearest rank) of `xs`. */
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number
}

const postJson = async (url: string, body: unknown, token?: string): Promise<{ status: number; body: any }> => {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) })
  return { status: res.status, body: await res.json() }
}
/** The cryptography of one login without HTTP: handshake, a message each way, two proofs signed and verified. */
const bareCrypto = async (): Promise<void> => {
  const g = startGenerator(cryptoRandom)
  const offer = createInitiate(cryptoRandom, g.key.publicKey)
  if (!offer.ok) throw new Error(offer.detail)
  const answer = acceptInitiate(g, offer.value.message)
  if (!answer.ok) throw new Error(answer.detail)
  const scanner = acceptOk(offer.value.state, answer.value.message)
  if (!scanner.ok) throw new Error(scanner.detail)
  const generator = confirmCheckCode(answer.value.state, scanner.value.checkCode)
  if (!generator.ok) throw new Error(generator.detail)
  const s1 = encryptMessage(scanner.value, '{"type":"m.login.protocols"}')
  if (!s1.ok) throw new Error(s1.detail)
  const g1 = decryptMessage(generator.value, s1.value.message)
  if (!g1.ok) throw new Error(g1.detail)
  const g2 = encryptMessage(g1.value.state, '{"type":"m.login.protocol"}')
  if (!g2.ok) throw new Error(g2.detail)
  const s2 = decryptMessage(s1.value.state, g2.value.message)
  if (!s2.ok) throw new Error(s2.detail)
  closeChannel(g2.value.state)
  closeChannel(s2.value.state)
  const key = await benchDpopKey()
  for (const url of ['http://127.0.0.1/oauth2/device_authorization', 'http://127.0.0.1/oauth2/token']) {
    await verifyDpopProof(await key.prove(url), { method: 'POST', url }, Date.now())
  }
}

const main = async (): Promise<void> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-bench-qr-login-'))
  const server = await startBenchServer(LAYOUT, dataDir, SERVER_CPU_PROF)
  const { base } = server
  try {
    const created = await postJson(`${base}/v1/admin/users`, { username: 'bench', password: PASSWORD }, ADMIN)
    if (created.status !== 201) throw new Error(`could not create the user: ${JSON.stringify(created.body)}`)
    const first = await postJson(`${base}/v1/login`, { username: 'bench' })
    const signedIn = await postJson(`${base}/v1/login`, {
      username: 'bench',
      auth: { type: 'm.login.password', session: first.body.session, password: PASSWORD },
    })
    if (signedIn.status !== 200) throw new Error(`login failed: ${JSON.stringify(signedIn.body)}`)
    const approverToken = signedIn.body.access_token as string

    /**
     * BENCH_STEPS: per step of the sequential logins (by transport), since the step before: the
     * milliseconds, the event loop's idle milliseconds (nothing to run on the one thread: a timer,
     * a poll interval, another process) and the process's CPU milliseconds.
     */
    const stepMs = new Map<string, { wall: number[]; idle: number[]; cpu: number[] }>()
    const qrLogin = async (via: TransportName, steps = false): Promise<void> => {
      let last = performance.now()
      let lastLoop = performance.eventLoopUtilization()
      let lastCpu = process.cpuUsage()
      const mark = (name: string): void => {
        if (!steps) return
        const at = performance.now()
        const loop = performance.eventLoopUtilization()
        const cpu = process.cpuUsage()
        const key = `${via}: ${name}`
        const step = stepMs.get(key) ?? { wall: [], idle: [], cpu: [] }
        step.wall.push(at - last)
        step.idle.push(loop.idle - lastLoop.idle)
        step.cpu.push((cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000)
        stepMs.set(key, step)
        last = at
        lastLoop = loop
        lastCpu = cpu
      }
      const transport = () =>
        via === 'http' ? httpTransport({ baseUrl: base, pollIntervalMs: POLL_MS }) : webSocketTransport({ baseUrl: base, WebSocket })
      const shown = await NewDevice.showQr({ baseUrl: base, transport: transport() })
      mark('channel created (showQr)')
      const scan = await ExistingDevice.scanQr(shown.qrLink, { baseUrl: base, transport: transport() })
      mark('scanned (scanQr)')
      try {
        await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scan.connect({ timeoutMs: 10_000 })])
        mark('handshake (waitForPeer + connect)')
        await shown.confirmCheckCode(scan.checkCode)
        mark('check code confirmed')
        // What an app runs: the SDK's own sign-in and approval (grant, approval, tokens), side by side.
        const [signedIn, approval] = await Promise.all([
          signIn(shown, {
            baseUrl: base,
            deviceName: 'bench',
            onStep: ({ step }) => mark(`signIn ${step}`),
          }),
          approveSignIn(scan, { baseUrl: base, accessToken: approverToken, confirm: () => (mark('approval context read'), true) }),
        ])
        mark('approveSignIn returned')
        if (approval.status !== 'approved' || signedIn.accessToken === '') throw new Error(`login: ${approval.status}`)
      } finally {
        await scan.close().catch(() => {})
        await shown.close().catch(() => {})
        mark('both ends closed')
      }
    }
    /** `LOGINS` runs of `op`, `width` at a time; returns runs per second, and each run's milliseconds. */
    const perSecond = async (op: () => Promise<void>, width: number): Promise<{ rate: number; ms: number[] }> => {
      let next = 0
      const ms: number[] = []
      const t0 = performance.now()
      const worker = async (): Promise<void> => {
        while (next < LOGINS) {
          next++
          const started = performance.now()
          await op()
          ms.push(performance.now() - started)
        }
      }
      await Promise.all(Array.from({ length: width }, worker))
      return { rate: LOGINS / ((performance.now() - t0) / 1000), ms }
    }

    const modes = TRANSPORTS as TransportName[]
    for (const via of modes) await qrLogin(via) // warm-up
    await bareCrypto()
    const bare: number[] = []
    const bareMs: number[] = []
    const sequential = new Map(modes.map((via) => [via, { rates: [] as number[], ms: [] as number[] }]))
    const concurrent = new Map(modes.map((via) => [via, [] as number[]]))
    /** Per round: the event loop's busy milliseconds per sequential login (server and both devices share it). */
    const busyMs = new Map(modes.map((via) => [via, [] as number[]]))
    const bareBusyMs: number[] = []
    /** Per round: the process's CPU milliseconds (user + system) per sequential login: the work, whatever else loads the machine. */
    const cpuMs = new Map(modes.map((via) => [via, [] as number[]]))
    const bareCpuMs: number[] = []
    /** Per round: the server process's CPU milliseconds per sequential login (two processes only; 10 ms ticks). */
    const serverCpuMs = new Map(modes.map((via) => [via, [] as number[]]))
    const bareServerCpuMs: number[] = []
    const cpuSince = (start: NodeJS.CpuUsage): number => {
      const used = process.cpuUsage(start)
      return (used.user + used.system) / 1000 / LOGINS
    }
    const serverCpuSince = (start: number | undefined): number => {
      const now = server.cpuMs()
      return now === undefined || start === undefined ? 0 : (now - start) / LOGINS
    }
    for (let rep = 0; rep < REPS; rep++) {
      const bareElu = performance.eventLoopUtilization()
      const bareCpu = process.cpuUsage()
      const bareServerCpu = server.cpuMs()
      const b = await perSecond(bareCrypto, 1)
      bareCpuMs.push(cpuSince(bareCpu))
      bareServerCpuMs.push(serverCpuSince(bareServerCpu))
      bareBusyMs.push(performance.eventLoopUtilization(bareElu).active / LOGINS)
      bare.push(b.rate)
      bareMs.push(...b.ms)
      for (const via of modes) {
        const profiler = CPU_PROF === undefined ? undefined : new Session()
        if (profiler !== undefined) {
          profiler.connect()
          await profiler.post('Profiler.enable')
          await profiler.post('Profiler.setSamplingInterval', { interval: CPU_PROF_INTERVAL_US })
          await profiler.post('Profiler.start')
        }
        const elu = performance.eventLoopUtilization()
        const cpu = process.cpuUsage()
        const serverCpu = server.cpuMs()
        const one = await perSecond(() => qrLogin(via, STEPS), 1)
        cpuMs.get(via)!.push(cpuSince(cpu))
        serverCpuMs.get(via)!.push(serverCpuSince(serverCpu))
        busyMs.get(via)!.push(performance.eventLoopUtilization(elu).active / LOGINS)
        if (profiler !== undefined) {
          const { profile } = await profiler.post('Profiler.stop')
          profiler.disconnect()
          writeFileSync(`${CPU_PROF}.${via}.${rep}.cpuprofile`, JSON.stringify(profile))
        }
        sequential.get(via)!.rates.push(one.rate)
        sequential.get(via)!.ms.push(...one.ms)
        concurrent.get(via)!.push((await perSecond(() => qrLogin(via), CONCURRENCY)).rate)
      }
    }
    const fmt = (xs: number[], digits = 1) =>
      `${median(xs).toFixed(digits)} (range ${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`
    const ratio = (xs: number[]) =>
      fmt(
        xs.map((x, i) => x / (bare[i] as number)),
        4,
      )
    const bareP50 = quantile(bareMs, 0.5)
    const latency = (ms: number[]) => {
      const p50 = quantile(ms, 0.5)
      return `| ${p50.toFixed(1)} ms | ${quantile(ms, 0.99).toFixed(1)} ms | ${(p50 / bareP50).toFixed(1)} × |`
    }
    const oneProcess = LAYOUT === 'one-process'
    /** CPU columns: this process, the server process, both (÷ the bare crypto's). */
    const cpuCells = (own: number[], serverOwn: number[]): string => {
      const total = median(own) + median(serverOwn)
      const bareTotal = median(bareCpuMs) + median(bareServerCpuMs)
      return `${median(own).toFixed(1)} | ${oneProcess ? '(in this process)' : median(serverOwn).toFixed(1)} | ${total.toFixed(1)} (${(total / bareTotal).toFixed(1)} ×) |`
    }
    process.stdout.write(
      [
        `# qr-login benchmark — ${new Date().toISOString()}`,
        `cpu: ${cpus()[0]?.model ?? 'unknown'} ×${cpus().length}; node ${process.version}; load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
        `${LOGINS} logins per round and mode, ${REPS} rounds, concurrency ${CONCURRENCY}, SDK HTTP poll interval ${POLL_MS} ms`,
        `layout: ${server.description}`,
        '',
        `| Measure (${LAYOUT}) | Per second, median (range) | Ratio to bare crypto | Latency p50 | p99 | p50 ÷ bare p50 (target ≤ 2 ×) | Event loop busy per run, ms (this process) | CPU per run, ms: this process | server process | total (÷ bare) |`,
        '|---|---|---|---|---|---|---|---|---|---|',
        `| bare crypto of one login (handshake, 2 AEAD messages, 2 ES256 proofs signed + verified) | ${fmt(bare)} | 1 ${latency(bareMs)} ${median(bareBusyMs).toFixed(1)} | ${cpuCells(bareCpuMs, bareServerCpuMs)}`,
        ...modes.flatMap((via) => [
          `| full QR login over ${via}, one at a time | ${fmt(sequential.get(via)!.rates)} | ${ratio(sequential.get(via)!.rates)} ${latency(sequential.get(via)!.ms)} ${median(busyMs.get(via)!).toFixed(1)} | ${cpuCells(cpuMs.get(via)!, serverCpuMs.get(via)!)}`,
          `| full QR login over ${via}, ${CONCURRENCY} at once | ${fmt(concurrent.get(via)!)} | ${ratio(concurrent.get(via)!)} | | | | | | | |`,
        ]),
        '',
        ...(STEPS
          ? [
              '| Step of a sequential login (BENCH_STEPS) | ms since the step before, p50 | mean | of which event loop idle, mean | CPU, mean |',
              '|---|---|---|---|---|',
            ]
          : []),
        ...[...stepMs].map(
          ([step, { wall, idle, cpu }]) =>
            `| ${step} | ${quantile(wall, 0.5).toFixed(2)} | ${mean(wall).toFixed(2)} | ${mean(idle).toFixed(2)} | ${mean(cpu).toFixed(2)} |`,
        ),
        '',
      ].join('\n'),
    )
  } finally {
    await server.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
