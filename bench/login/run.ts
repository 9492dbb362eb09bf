/**
 * Login cost benchmark (`node --import tsx bench/login/run.ts`): password logins per second through
 * the real HTTP server (Node, embedded SQLite store, two UIA round trips and a device session minted
 * per login) against argon2id verification alone with the same parameters, in the same run and the
 * same process. argon2id is meant to dominate; the ratio says how much everything else costs.
 * Inside each round the two alternate one by one, so machine noise falls on both alike; the report
 * gives medians and ranges over the rounds.
 *
 * Knobs (environment): BENCH_LOGINS (20 per round), BENCH_REPS (3), QRELAY_ARGON2_* (the configured
 * cost; default the server's default, m=19456 KiB, t=2, p=1).
 *
 * `--smoke` (what `npm test` runs, test/integration/bench/login-smoke.test.ts): 2 logins, one round,
 * argon2id at its cheapest (m=64 KiB, t=1) unless QRELAY_ARGON2_* say otherwise; any login that is not
 * a 200 or a verification that fails exits 1 (as in the full run).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseConfig } from '../../src/config.ts'
import { hashPasswordAsync, verifyPasswordAsync } from '../../src/core/auth/password-hash.ts'
import { cryptoRandom, silentLogger } from '../../src/adapters/platform/node.ts'
import { startNodeServer } from '../../src/runtime/node-server.ts'
import { argon2ParamsOf } from '../../src/services/auth-services.ts'

const num = (name: string, fallback: number, max: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value <= 0 || value > max) throw new Error(`${name} must be a whole number in (0, ${max}]`)
  return value
}
const SMOKE = process.argv.includes('--smoke')
const LOGINS = num('BENCH_LOGINS', SMOKE ? 2 : 20, 10_000)
const REPS = num('BENCH_REPS', SMOKE ? 1 : 3, 20)
const PASSWORD = 'correct horse battery staple'
const ADMIN = 'bench-admin-token-0123456789abcdef0123'

const argonEnv: Record<string, string> = SMOKE ? { QRELAY_ARGON2_MEMORY_KIB: '64', QRELAY_ARGON2_ITERATIONS: '1' } : {}
for (const name of ['QRELAY_ARGON2_MEMORY_KIB', 'QRELAY_ARGON2_ITERATIONS', 'QRELAY_ARGON2_PARALLELISM']) {
  const value = process.env[name]
  if (value !== undefined) argonEnv[name] = value
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

const post = async (base: string, path: string, body: unknown, token?: string): Promise<{ status: number; body: any }> => {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
  return { status: res.status, body: await res.json() }
}

const main = async (): Promise<void> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-bench-login-'))
  const config = parseConfig({
    ...argonEnv,
    QRELAY_PORT: '0',
    QRELAY_DATA_DIR: dataDir,
    QRELAY_ADMIN_TOKEN: ADMIN,
    QRELAY_LOG_LEVEL: 'silent',
    // The benchmark signs in many times from one address: no failures happen, but keep limits out of the way.
    QRELAY_RATE_AUTH_FAILURES_PER_CLIENT: '1000000/1s',
  })
  const server = await startNodeServer(config, { logger: silentLogger })
  try {
    const created = await post(server.url, '/v1/admin/users', { username: 'bench', password: PASSWORD }, ADMIN)
    if (created.status !== 201) throw new Error(`could not create the user: ${JSON.stringify(created.body)}`)
    const params = argon2ParamsOf(config.auth)
    const phc = await hashPasswordAsync(cryptoRandom, PASSWORD, params)

    const loginOnce = async (): Promise<void> => {
      const first = await post(server.url, '/v1/login', { username: 'bench' })
      const done = await post(server.url, '/v1/login', {
        username: 'bench',
        auth: { type: 'm.login.password', session: first.body.session, password: PASSWORD },
      })
      if (done.status !== 200) throw new Error(`login failed: ${JSON.stringify(done.body)}`)
    }
    const verifyOnce = async (): Promise<void> => {
      if (!(await verifyPasswordAsync(phc, PASSWORD)).ok) throw new Error('verify failed')
    }
    /** One round: `LOGINS` of each, interleaved one by one so machine noise falls on both alike. */
    const round = async (): Promise<{ login: number; argon: number }> => {
      let loginMs = 0
      let argonMs = 0
      for (let i = 0; i < LOGINS; i++) {
        const t0 = performance.now()
        await verifyOnce()
        const t1 = performance.now()
        await loginOnce()
        argonMs += t1 - t0
        loginMs += performance.now() - t1
      }
      return { login: LOGINS / (loginMs / 1000), argon: LOGINS / (argonMs / 1000) }
    }

    await loginOnce() // warm-up: the dummy hash, JIT, SQLite pages
    await verifyOnce()
    const logins: number[] = []
    const argon: number[] = []
    for (let rep = 0; rep < REPS; rep++) {
      const r = await round()
      logins.push(r.login)
      argon.push(r.argon)
    }
    const ratios = logins.map((l, i) => l / (argon[i] as number))
    const fmt = (xs: number[], digits = 2) =>
      `${median(xs).toFixed(digits)} (range ${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`
    process.stdout.write(
      [
        `# login benchmark — ${new Date().toISOString()}`,
        `cpu: ${cpus()[0]?.model ?? 'unknown'}; node ${process.version}`,
        `argon2id m=${params.memoryKiB} KiB, t=${params.iterations}, p=${params.parallelism}; ${LOGINS} per round, ${REPS} rounds`,
        '',
        '| Measure | Per second, median (range) |',
        '|---|---|',
        `| argon2id verification alone | ${fmt(argon)} |`,
        `| password login through HTTP (2 UIA round trips + device session, SQLite) | ${fmt(logins)} |`,
        `| ratio login / argon2id | ${fmt(ratios, 3)} |`,
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
