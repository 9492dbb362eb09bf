/**
 * Soak (`npm run bench:soak -- [--minutes M] [--smoke]`): two qrelay processes on one Redis (its own
 * redis-server on a free loopback port), a steady mixed workload for M minutes (default 30): the
 * MSC4388 relay cycle over HTTP, native channels over WebSocket, password logins and logouts, whole QR
 * logins through the device SDK (device grant with DPoP, approval, the new session signs out) over
 * HTTP and WebSocket, and long polls of the account's events, every flow across both processes.
 * Every 10 s it reads each process's heap after full GCs (SIGUSR2 probe) and RSS (/proc), and at the
 * end reports the least-squares slope (MiB/h) after the warm-up, every non-2xx answer by route and
 * status (protocol answers such as a UIA 401 apart), every flow that failed, and the servers' warn
 * and error log lines. Exit code 1 when an unexpected answer, failure or error line was seen, or a
 * slope exceeds its ceiling (full runs only).
 *
 * Knobs: --minutes (0.05..240), --warmup-minutes (default 5, or a sixth of a shorter run),
 * --sample-seconds (10), --smoke (9 s of load, every flow at least once, no slope verdict), SOAK_JSON (file for the raw samples).
 */
import { writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { exportJWK, generateKeyPair } from 'jose'
import { Redis } from 'ioredis'
import { freePort, startChild, startRedis, waitForHttp, type Child } from '../relay/processes.ts'
import { baseEnv, heapOf, MiB, PROBE_ARGS, rssOf, slope } from '../memory/probe.ts'
import {
  ADMIN_TOKEN,
  createUser,
  eventsPoll,
  isProtocolAnswer,
  loginLogout,
  logout,
  passwordLogin,
  qrLogin,
  relayCycle,
  Tally,
  wsRelay,
  type Targets,
} from './workload.ts'
import { qrelayServerScript } from '../qrelay-entry.ts'

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? undefined : process.argv[i + 1]
}
const SMOKE = process.argv.includes('--smoke')
const numArg = (name: string, fallback: number, min: number, max: number): number => {
  const value = Number(arg(name) ?? fallback)
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`--${name} must be in [${min}, ${max}]`)
  return value
}
const MINUTES = numArg('minutes', SMOKE ? 0.15 : 30, 0.05, 240)
const WARMUP_MINUTES = numArg('warmup-minutes', Math.min(5, MINUTES / 6), 0, MINUTES)
const SAMPLE_SECONDS = numArg('sample-seconds', SMOKE ? 3 : 10, 1, 600)
// Heap and RSS ceilings of the slope after warm-up (MiB per hour, per process).
const HEAP_SLOPE_CEILING = 4
const RSS_SLOPE_CEILING = 16
const PUBLIC_BASE_URL = 'https://qrelay.soak.test'
const USER = 'soak'

/** Steady rates: one run of each flow per period (ms), `width` loops of it at once. */
const FLOWS = {
  relay: { periodMs: 250, width: 1 },
  ws: { periodMs: 2000, width: 1 },
  login: { periodMs: 2000, width: 1 },
  qr: { periodMs: 3000, width: 1 },
} as const
const EVENTS_WAIT_MS = SMOKE ? 2000 : 10_000
const APPROVER_TOKEN_REFRESH_MS = 120_000

interface Server {
  name: string
  url: string
  child: Child & { process: import('node:child_process').ChildProcess }
  /** Warn/error log lines by message. */
  logLines: Map<string, number>
}

const startServer = async (name: string, env: Record<string, string>): Promise<Server> => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = await startChild(process.execPath, [...PROBE_ARGS, qrelayServerScript()], {
    core: name === 'A' ? 0 : 1,
    env: { ...baseEnv(), ...env, QRELAY_HOST: '127.0.0.1', QRELAY_PORT: String(port) },
    stdout: 'pipe',
  })
  const logLines = new Map<string, number>()
  createInterface({ input: child.process.stdout! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { type?: string; message?: string }; error?: unknown }
      if ((entry.level ?? 0) >= 40) {
        // The error's own type and message say why (they carry no secret: ids are redacted in logs).
        const why = entry.err === undefined ? '' : ` (${entry.err.type ?? 'Error'}: ${String(entry.err.message ?? '').slice(0, 120)})`
        const key = `${entry.level === 40 ? 'warn' : 'error'}: ${entry.msg ?? '?'}${why}`
        logLines.set(key, (logLines.get(key) ?? 0) + 1)
      }
    } catch {
      logLines.set(`non-JSON: ${line.slice(0, 120)}`, (logLines.get(`non-JSON: ${line.slice(0, 120)}`) ?? 0) + 1)
    }
  })
  await waitForHttp(`${url}/healthz`, 30_000, child)
  return { name, url, child, logLines }
}

interface Sample {
  atS: number
  server: string
  heapMiB: number
  rssMiB: number
  externalMiB: number
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const f1 = (n: number): string => n.toFixed(1)

const main = async (): Promise<void> => {
  const redis = await startRedis(1)
  const servers: Server[] = []
  const tally = new Tally()
  const samples: Sample[] = []
  const redisKeys: Array<{ atS: number; keys: number; usedMiB: number }> = []
  const completed = new Map<string, number>()
  const done = (flow: string): void => void completed.set(flow, (completed.get(flow) ?? 0) + 1)
  const inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  try {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const env: Record<string, string> = {
      QRELAY_STORE: 'redis',
      QRELAY_REDIS_URL: redis.url,
      QRELAY_REDIS_KEY_PREFIX: 'soak:',
      QRELAY_TICKET_SIGNING_JWKS: JSON.stringify({ keys: [await exportJWK(privateKey)] }),
      QRELAY_PUBLIC_BASE_URL: PUBLIC_BASE_URL,
      QRELAY_LOG_HASH_KEY: '22'.repeat(32),
      QRELAY_UIA_KEY: '33'.repeat(32),
      QRELAY_SECRETS_KEYS: `soak:${'44'.repeat(32)}`,
      QRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
      QRELAY_LOG_LEVEL: 'warn',
      QRELAY_TRUSTED_PROXY_HEADER: 'x-forwarded-for',
      QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
      QRELAY_POLL_INTERVAL_SECONDS: '1',
      // The whole workload is one person's few devices: the limits a steady run would reach per
      // address or account are raised (they are not what this measures); the abuse guard is off,
      // because relay cycles create channels nobody completes a login on.
      QRELAY_RATE_CREATE_PER_CLIENT: '100000/60s',
      QRELAY_RATE_DEVICE_AUTHORIZATION_PER_CLIENT: '100000/60s',
      QRELAY_RATE_USER_CODE_PER_ACCOUNT: '100000/300s',
      QRELAY_ABUSE_ENABLED: 'false',
    }
    const [a, b] = await Promise.all([startServer('A', env), startServer('B', env)])
    servers.push(a!, b!)
    const t: Targets = { a: a!.url, b: b!.url, publicBaseUrl: PUBLIC_BASE_URL }
    await createUser(tally, t.a, USER)

    let approverToken = await passwordLogin(tally, t.b, '198.51.100.20', USER)
    const t0 = Date.now()
    const failedAt: string[] = []
    const endAt = t0 + MINUTES * 60_000
    const running = (): boolean => Date.now() < endAt

    /** Runs `flow` once per `periodMs` until the end; a failure is counted and the loop goes on. */
    const steady = async (name: string, periodMs: number, flow: (i: number) => Promise<void>): Promise<void> => {
      let next = Date.now()
      for (let i = 0; running(); i++) {
        try {
          await flow(i)
          done(name)
        } catch (error) {
          tally.fail(name, error)
          failedAt.push(`${name} at ${((Date.now() - t0) / 1000).toFixed(0)} s`)
        }
        next += periodMs
        const wait = next - Date.now()
        if (wait > 0) await sleep(Math.min(wait, Math.max(0, endAt - Date.now())))
        else next = Date.now()
      }
    }

    const loops: Array<Promise<void>> = [
      steady('approver token refresh', APPROVER_TOKEN_REFRESH_MS, async (i) => {
        if (i === 0) return
        const old = approverToken
        approverToken = await passwordLogin(tally, t.b, '198.51.100.20', USER)
        // The old token may still be in a flow for a moment: sign it out after the longest flow.
        setTimeout(
          () => void logout(tally, t.a, '198.51.100.20', old).catch((error: unknown) => tally.fail('approver logout', error)),
          45_000,
        ).unref()
      }),
      steady('relay http', FLOWS.relay.periodMs, () => relayCycle(tally, t, '203.0.113.10')),
      steady('relay ws', FLOWS.ws.periodMs, () => wsRelay(tally, t, '203.0.113.11')),
      steady('password login', FLOWS.login.periodMs, (i) => loginLogout(tally, t, '198.51.100.20', USER, i % 2 === 1)),
      steady('qr login', FLOWS.qr.periodMs, (i) => qrLogin(tally, t, approverToken, i % 2 === 0 ? 'http' : 'ws')),
      ...[t.a, t.b].map((base, k) => {
        let since = 0
        return steady(`events long poll ${k === 0 ? 'A' : 'B'}`, 0, async () => {
          since = await eventsPoll(
            tally,
            base,
            '198.51.100.21',
            approverToken,
            since,
            Math.min(EVENTS_WAIT_MS, Math.max(0, endAt - Date.now())),
          )
        })
      }),
    ]

    const sampler = (async () => {
      while (running()) {
        const atS = (Date.now() - t0) / 1000
        for (const s of servers) {
          const heap = await heapOf(s.child)
          samples.push({
            atS,
            server: s.name,
            heapMiB: heap.heapUsed / MiB,
            rssMiB: rssOf(s.child.pid).rssMiB,
            externalMiB: heap.external / MiB,
          })
        }
        const info = await inspector.info('memory')
        redisKeys.push({ atS, keys: await inspector.dbsize(), usedMiB: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN) / MiB })
        const left = endAt - Date.now()
        if (left <= 0) break
        await sleep(Math.min(SAMPLE_SECONDS * 1000, left))
      }
    })()
    await Promise.all([...loops, sampler])
    // One last sample at the end of the load (the slope is the measure, not the level after expiry).
    const finalAt = (Date.now() - t0) / 1000
    for (const s of servers) {
      const heap = await heapOf(s.child)
      samples.push({
        atS: finalAt,
        server: s.name,
        heapMiB: heap.heapUsed / MiB,
        rssMiB: rssOf(s.child.pid).rssMiB,
        externalMiB: heap.external / MiB,
      })
    }

    // ---- report ----
    const warmS = WARMUP_MINUTES * 60
    const lines: string[] = [
      `# soak — ${new Date().toISOString()}`,
      `cpu: ${cpus()[0]?.model ?? 'unknown'} ×${cpus().length} (load average at the end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}); node ${process.version}`,
      `${MINUTES} min, warm-up ${f1(WARMUP_MINUTES)} min, a sample every ${SAMPLE_SECONDS} s (heap after full GCs, RSS from /proc); two processes on one Redis`,
      '',
      '| process | heap MiB start → end | RSS MiB start → end | heap slope MiB/h (ceiling) | RSS slope MiB/h (ceiling) |',
      '| --- | ---: | ---: | ---: | ---: |',
    ]
    let slopesOk = true
    for (const s of servers) {
      const mine = samples.filter((x) => x.server === s.name && x.atS >= warmS)
      const hours = mine.map((x) => x.atS / 3600)
      const heapSlope = slope(
        hours,
        mine.map((x) => x.heapMiB),
      )
      const rssSlope = slope(
        hours,
        mine.map((x) => x.rssMiB),
      )
      const first = samples.find((x) => x.server === s.name)!
      const last = [...samples].reverse().find((x) => x.server === s.name)!
      if (!(heapSlope <= HEAP_SLOPE_CEILING) || !(rssSlope <= RSS_SLOPE_CEILING)) slopesOk = false
      lines.push(
        `| ${s.name} | ${f1(first.heapMiB)} → ${f1(last.heapMiB)} | ${f1(first.rssMiB)} → ${f1(last.rssMiB)} | ${f1(heapSlope)} (≤ ${HEAP_SLOPE_CEILING}) | ${f1(rssSlope)} (≤ ${RSS_SLOPE_CEILING}) |`,
      )
    }
    const keysAfter = redisKeys.filter((k) => k.atS >= warmS)
    lines.push(
      '',
      `Redis: ${redisKeys[0]?.keys ?? '?'} → ${redisKeys.at(-1)?.keys ?? '?'} keys, ${f1(redisKeys[0]?.usedMiB ?? Number.NaN)} → ${f1(redisKeys.at(-1)?.usedMiB ?? Number.NaN)} MiB used; key slope after warm-up ${f1(
        slope(
          keysAfter.map((k) => k.atS / 3600),
          keysAfter.map((k) => k.keys),
        ),
      )} keys/h`,
      '',
      `Flows completed (${tally.requests} HTTP requests): ${[...completed].map(([k, v]) => `${k} ${v}`).join(', ')}`,
    )
    const unexpected = [...tally.answers].filter(([key]) => !/ 2\d\d( |$)/.test(key) && !isProtocolAnswer(key) && !/ 429( |$)/.test(key))
    const limited = [...tally.answers].filter(([key]) => / 429( |$)/.test(key))
    const protocol = [...tally.answers].filter(([key]) => isProtocolAnswer(key))
    const list = (xs: Array<[string, number]>): string => (xs.length === 0 ? 'none' : xs.map(([k, v]) => `${k} ×${v}`).join('; '))
    const logs = servers.flatMap((s) => [...s.logLines].map(([k, v]) => [`${s.name} ${k}`, v] as [string, number]))
    lines.push(
      `Protocol answers (expected): ${list(protocol)}`,
      `429 answers: ${list(limited)}`,
      `Unexpected non-2xx answers: ${list(unexpected)}`,
      `Failed flows: ${list([...tally.failures])}${failedAt.length === 0 ? '' : ` (when: ${failedAt.slice(0, 20).join(', ')})`}`,
      `Server warn/error log lines: ${list(logs)}`,
    )
    const clean = unexpected.length === 0 && tally.failures.size === 0 && logs.every(([k]) => !k.includes(' error: '))
    const verdict = clean && (SMOKE || slopesOk)
    lines.push('', `Verdict: ${verdict ? 'PASS' : 'FAIL'}${SMOKE ? ' (smoke: slopes not judged)' : ''}`, '')
    process.stdout.write(lines.join('\n'))
    if (process.env.SOAK_JSON)
      writeFileSync(
        process.env.SOAK_JSON,
        JSON.stringify({ samples, redisKeys, answers: [...tally.answers], failures: [...tally.failures] }, null, 1),
      )
    process.exitCode = verdict ? 0 : 1
  } finally {
    inspector.disconnect()
    await Promise.all(servers.map((s) => s.child.stop()))
    await redis.child.stop()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
