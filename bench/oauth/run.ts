/**
 * OAuth device-flow benchmark (`npm run bench:oauth`): requests per second of
 * `POST /oauth2/device_authorization` and of device-code token polls answered `authorization_pending`
 * (RFC 8628 §3.1, §3.4), qrelay against `oidc-provider` 9 (device flow, DPoP, memory adapter, one public
 * client; `bench/oauth/oidc-server.ts`) in the same run. Each server is a process of its own on
 * 127.0.0.1, pinned to core 0 with `taskset` (when it works here), and the load runs in this process,
 * pinned to core 1, so neither server competes with the load or with the other (they take turns).
 * Both get a DPoP proof (RFC 9449, ES256) with every request; proofs are signed before each timed
 * window (a unique `jti`, a fresh `iat`), so the client's signing stays out of the figures.
 * oidc-provider 9 verifies DPoP at the token endpoint (always on, before the pending check) but ignores
 * the header at its device authorization endpoint, so there qrelay does one ES256 verification (and a
 * replay check) more.
 *
 * Method: keep-alive `node:http` requests (bodies encoded before the window), `BENCH_CONCURRENCY` in flight. Polls never meet `slow_down`:
 * `BENCH_GRANTS` grants are made once per server, and each round polls every grant exactly once, the
 * rounds at least `interval` (qrelay: QRELAY_POLL_INTERVAL_SECONDS=1, its minimum) + 0.2 s apart.
 * Inside each round qrelay and oidc-provider alternate (device authorization, then polls), so machine
 * noise falls on both alike; the report gives medians and ranges over the rounds, and requests per
 * second of server CPU (from /proc), which a busy machine disturbs less than wall-clock rates.
 *
 * Knobs (environment): BENCH_REQUESTS (device authorizations per round, 500), BENCH_GRANTS (polls per
 * round, 500), BENCH_CONCURRENCY (16), BENCH_REPS (3), BENCH_DEBUG (set: print oidc-provider grant errors),
 * BENCH_CPU_PROF (directory: the qrelay server runs with `--cpu-prof` there).
 *
 * `--smoke` (what `npm test` runs, test/integration/bench/oauth-smoke.test.ts): both servers started,
 * 4 requests of each kind, 2 in flight, one round after the warm-up round; any unexpected answer exits 1
 * (as in the full run).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { benchDpopKey, type BenchDpopKey } from '../dpop-key.ts'
import { canPin, cpuSeconds, freePort, startChild, waitForHttp } from '../relay/processes.ts'
import { qrelayServerArgs } from '../qrelay-entry.ts'

const num = (name: string, fallback: number, max: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value <= 0 || value > max) throw new Error(`${name} must be a whole number in (0, ${max}]`)
  return value
}
const SMOKE = process.argv.includes('--smoke')
const REQUESTS = num('BENCH_REQUESTS', SMOKE ? 4 : 500, 20_000)
const GRANTS = num('BENCH_GRANTS', SMOKE ? 4 : 500, 20_000)
const CONCURRENCY = num('BENCH_CONCURRENCY', SMOKE ? 2 : 16, 256)
const REPS = num('BENCH_REPS', SMOKE ? 1 : 3, 20)
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code'
const CLIENT_ID = 'bench-client'
/** A channel binding as the two devices would derive (32 bytes, base64url). */
const BINDING = 'Q'.repeat(43)

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number
}
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

type Prove = BenchDpopKey['prove']

interface Target {
  name: string
  base: string
  /** The server's process, for its CPU time. */
  pid: number
  /** Form fields of a device authorization request. */
  authorizeFields: Record<string, string>
}

/**
 * The load's HTTP client: `node:http` over keep-alive sockets (at most `BENCH_CONCURRENCY` per server),
 * bodies encoded before the timed window. Lighter per request than `fetch` (no WHATWG request, headers
 * or stream objects), so the load process, which has one core, does not cap the faster server.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 256 })
interface Answer {
  status: number
  body: any
}
const post = (url: string, form: string, proof: string): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form), dpop: proof },
    })
    req.on('error', reject)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) })
        } catch (error) {
          reject(error)
        }
      })
    })
    req.end(form)
  })
const formOf = (fields: Record<string, string>): string => new URLSearchParams(fields).toString()

/** Sends `bodies.length` requests, `CONCURRENCY` at a time; checks each answer; returns req/s and latencies. */
const blast = async (
  url: string,
  bodies: Array<{ form: string; proof: string }>,
  check: (status: number, body: any) => boolean,
  serverPid: number,
): Promise<{ rps: number; cpuRps: number; latencies: number[]; loadBusy: number }> => {
  const latencies: number[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const item = bodies[next++] as { form: string; proof: string }
      const t0 = performance.now()
      const { status, body } = await post(url, item.form, item.proof)
      latencies.push(performance.now() - t0)
      if (!check(status, body)) throw new Error(`${url}: unexpected answer ${status} ${JSON.stringify(body)}`)
    }
  }
  const t0 = performance.now()
  const cpu0 = cpuSeconds(serverPid)
  const load0 = process.cpuUsage()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const wallMs = performance.now() - t0
  const load = process.cpuUsage(load0)
  const rps = bodies.length / (wallMs / 1000)
  // The load's own CPU over the window, as a share of its core: near 1, the load (not the server) sets the pace.
  const loadBusy = (load.user + load.system) / 1000 / wallMs
  return { rps, cpuRps: bodies.length / Math.max(0.01, cpuSeconds(serverPid) - cpu0), latencies, loadBusy }
}

/** Starts a server process (`args`: Node's arguments, `{port}` filled in) pinned to core 0 and waits until `readyPath` answers 200. */
const startServer = async (args: string[], env: Record<string, string | undefined>, readyPath: string, profile: string[] = []) => {
  const port = await freePort()
  const child = await startChild(process.execPath, [...profile, ...args.map((a) => a.replace('{port}', String(port)))], {
    core: 0,
    env: { ...env, QRELAY_PORT: String(port) },
  })
  const base = `http://127.0.0.1:${port}`
  await waitForHttp(`${base}${readyPath}`, 30_000, child)
  return { base, child }
}

const main = async (): Promise<void> => {
  const pinned = await canPin()
  // The load: this process, on the other core.
  if (pinned) execFileSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' })
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-bench-oauth-'))
  const generous = '100000000/1s'
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('QRELAY_')))
  const qrelay = await startServer(
    qrelayServerArgs(),
    {
      ...inherited,
      QRELAY_HOST: '127.0.0.1',
      QRELAY_DATA_DIR: dataDir,
      QRELAY_LOG_LEVEL: 'silent',
      QRELAY_POLL_INTERVAL_SECONDS: '1',
      QRELAY_RATE_DEVICE_AUTHORIZATION_PER_CLIENT: generous,
      QRELAY_RATE_TOKEN_PER_CLIENT: generous,
    },
    '/readyz',
    process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [],
  )
  const oidc = await startServer(
    ['--import', 'tsx', 'bench/oauth/oidc-server.ts', '{port}'],
    inherited,
    '/.well-known/openid-configuration',
  ).catch(async (error: unknown) => {
    await qrelay.child.stop()
    throw error
  })
  try {
    const targets: Target[] = [
      { name: 'qrelay', base: qrelay.base, pid: qrelay.child.pid, authorizeFields: { channel_binding: BINDING, device_name: 'bench' } },
      { name: 'oidc-provider', base: oidc.base, pid: oidc.child.pid, authorizeFields: { client_id: CLIENT_ID, scope: 'openid' } },
    ]
    const provers = new Map<string, Prove>()
    for (const t of targets) provers.set(t.name, (await benchDpopKey()).prove)
    const proofs = async (t: Target, path: string, n: number): Promise<string[]> => {
      const prove = provers.get(t.name) as Prove
      const out: string[] = []
      for (let i = 0; i < n; i++) out.push(await prove(`${t.base}${path}`))
      return out
    }
    const authorizeBodies = async (t: Target, n: number) =>
      (await proofs(t, '/oauth2/device_authorization', n)).map((proof) => ({ form: formOf(t.authorizeFields), proof }))
    const authorized = (status: number, body: any) => status === 200 && typeof body.device_code === 'string'
    const pending = (status: number, body: any) => status === 400 && body.error === 'authorization_pending'

    // The grants to poll, made once per server (untimed), each bound to the key that will poll it.
    const deviceCodes = new Map<string, string[]>()
    for (const t of targets) {
      const codes: string[] = []
      for (const item of await authorizeBodies(t, GRANTS)) {
        const { status, body } = await post(`${t.base}/oauth2/device_authorization`, item.form, item.proof)
        if (!authorized(status, body)) throw new Error(`${t.name}: grant failed ${status} ${JSON.stringify(body)}`)
        codes.push(body.device_code)
      }
      deviceCodes.set(t.name, codes)
    }
    const pollBodies = async (t: Target) => {
      const codes = deviceCodes.get(t.name) as string[]
      const signed = await proofs(t, '/oauth2/token', codes.length)
      const extra: Record<string, string> = t.name === 'oidc-provider' ? { client_id: CLIENT_ID } : {}
      return codes.map((device_code, i) => ({
        form: formOf({ grant_type: DEVICE_CODE, device_code, ...extra }),
        proof: signed[i] as string,
      }))
    }

    // Warm-up (JIT, connections); polls are spaced by the interval like the rounds.
    for (const t of targets)
      await blast(`${t.base}/oauth2/device_authorization`, await authorizeBodies(t, Math.min(50, REQUESTS)), authorized, t.pid)
    let lastPollMs = 0
    const spacedPoll = async (t: Target, bodies: Awaited<ReturnType<typeof pollBodies>>) => {
      const wait = lastPollMs + 1200 - Date.now()
      if (wait > 0) await sleep(wait)
      return blast(`${t.base}/oauth2/token`, bodies, pending, t.pid)
    }
    const stats = new Map<
      string,
      {
        authRps: number[]
        authCpu: number[]
        authLat: number[]
        pollRps: number[]
        pollCpu: number[]
        pollLat: number[]
        loadBusy: number[]
      }
    >()
    for (const t of targets)
      stats.set(t.name, { authRps: [], authCpu: [], authLat: [], pollRps: [], pollCpu: [], pollLat: [], loadBusy: [] })
    for (let rep = 0; rep <= REPS; rep++) {
      // Each grant is polled at most once per round; both targets' polls of a round start after the spacing.
      const authBodies = new Map<string, Awaited<ReturnType<typeof authorizeBodies>>>()
      const polls = new Map<string, Awaited<ReturnType<typeof pollBodies>>>()
      for (const t of targets) {
        authBodies.set(t.name, await authorizeBodies(t, REQUESTS))
        polls.set(t.name, await pollBodies(t))
      }
      const order = rep % 2 === 0 ? targets : [...targets].reverse()
      for (const t of order) {
        const a = await blast(`${t.base}/oauth2/device_authorization`, authBodies.get(t.name) as never, authorized, t.pid)
        const p = await spacedPoll(t, polls.get(t.name) as never)
        if (rep === 0) continue // round 0 warms up the polls
        const s = stats.get(t.name) as NonNullable<ReturnType<typeof stats.get>>
        s.authRps.push(a.rps)
        s.authCpu.push(a.cpuRps)
        s.authLat.push(...a.latencies)
        s.pollRps.push(p.rps)
        s.pollCpu.push(p.cpuRps)
        s.pollLat.push(...p.latencies)
        s.loadBusy.push(a.loadBusy, p.loadBusy)
      }
      lastPollMs = Date.now()
    }

    const q = stats.get('qrelay') as NonNullable<ReturnType<typeof stats.get>>
    const o = stats.get('oidc-provider') as NonNullable<ReturnType<typeof stats.get>>
    const fmt = (xs: number[], digits = 0) =>
      `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`
    const lat = (xs: number[]) => `${quantile(xs, 0.5).toFixed(2)} / ${quantile(xs, 0.99).toFixed(2)}`
    const ratio = (a: number[], b: number[]) =>
      fmt(
        a.map((x, i) => x / (b[i] as number)),
        2,
      )
    process.stdout.write(
      [
        `# oauth device-flow benchmark — ${new Date().toISOString()}`,
        `cpu: ${cpus()[0]?.model ?? 'unknown'} ×${cpus().length}; node ${process.version}; load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}; servers ${pinned ? 'pinned to core 0, load to core 1' : 'not pinned (taskset unavailable)'}`,
        `${REQUESTS} device authorizations and ${GRANTS} pending polls per round and server, ${CONCURRENCY} in flight, ${REPS} rounds; DPoP (ES256) on every request to both`,
        '',
        '| Endpoint | qrelay req/s, median (range) | oidc-provider req/s, median (range) | ratio qrelay / oidc-provider | ratio per server CPU second | qrelay p50 / p99 ms | oidc-provider p50 / p99 ms |',
        '|---|---|---|---|---|---|---|',
        `| POST /oauth2/device_authorization | ${fmt(q.authRps)} | ${fmt(o.authRps)} | ${ratio(q.authRps, o.authRps)} | ${ratio(q.authCpu, o.authCpu)} | ${lat(q.authLat)} | ${lat(o.authLat)} |`,
        `| POST /oauth2/token (authorization_pending) | ${fmt(q.pollRps)} | ${fmt(o.pollRps)} | ${ratio(q.pollRps, o.pollRps)} | ${ratio(q.pollCpu, o.pollCpu)} | ${lat(q.pollLat)} | ${lat(o.pollLat)} |`,
        '',
        `load process busy (share of its core over a window, median): ${median(q.loadBusy).toFixed(2)} against qrelay, ${median(o.loadBusy).toFixed(2)} against oidc-provider`,
        '',
      ].join('\n'),
    )
  } finally {
    agent.destroy()
    await qrelay.child.stop()
    await oidc.child.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
