/**
 * QR login through the pages in Chromium (`npm run bench:pages`): how long a person waits, from opening
 * the QR link on the signed-in browser to the new browser signed in, over the channel's WebSocket (the
 * pages' transport) against the same pages on a relay with WebSockets off (`QRELAY_WS_ENABLED=false`:
 * they poll every second, as every page did before), in the same run, alternating login by login.
 *
 * Steps of one login (the new browser on `/login`, the signed-in one opening the link `#link-text` shows):
 * handshake (link opened → both show the check-code step), check code (typed on the new browser → the
 * consent screen on the other), approval (Approve → the new browser on `/account`). Reported: the
 * median of each step and of the whole, per server, and the ratio. The QR link is read from the page
 * (the camera is not what is measured).
 *
 * Knobs (environment): BENCH_LOGINS (logins per server, 10), CHROMIUM_PATH (default /usr/bin/chromium).
 * `--smoke` (what `npm test` runs, test/integration/bench/pages-smoke.test.ts): one login per server; a
 * login that does not end signed in exits 1 (as in the full run).
 *
 * @see BENCHMARKS.md
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext } from 'playwright-core'
import { BENCH_ADMIN_TOKEN, qrLoginBenchEnv } from '../qr-login/server-env.ts'
import { qrelayServerArgs } from '../qrelay-entry.ts'
import { freePort, startChild, waitForHttp } from '../relay/processes.ts'

const SMOKE = process.argv.includes('--smoke')
const LOGINS = SMOKE ? 1 : Math.min(100, Math.max(1, Math.round(Number(process.env.BENCH_LOGINS ?? 10))))
const PASSWORD = 'correct horse battery staple'
const STEP_TIMEOUT_MS = 30_000
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p !== undefined && existsSync(p))

interface Target {
  name: string
  env: Record<string, string>
}
const TARGETS: readonly Target[] = [
  { name: 'pages over the WebSocket', env: {} },
  { name: 'pages polling (WebSockets off)', env: { QRELAY_WS_ENABLED: 'false' } },
]

/** A server of `target` with the user `mia`, and a browser context signed in to its pages. */
const startTarget = async (target: Target, browser: Browser) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-bench-pages-'))
  const port = await freePort()
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('QRELAY_')))
  const env = { ...inherited, ...qrLoginBenchEnv(dataDir), QRELAY_ARGON2_MEMORY_KIB: '64', QRELAY_ARGON2_ITERATIONS: '1', ...target.env }
  const child = await startChild(process.execPath, qrelayServerArgs(), { core: 0, pin: false, env: { ...env, QRELAY_PORT: String(port) } })
  const base = `http://127.0.0.1:${port}`
  await waitForHttp(`${base}/readyz`, 30_000, child)
  const made = await fetch(`${base}/v1/admin/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'mia', password: PASSWORD }),
  })
  if (made.status !== 201) throw new Error(`creating the user answered ${made.status}`)
  const approver = await browser.newContext()
  const page = await approver.newPage()
  await page.goto(`${base}/signin?next=/account`)
  await page.fill('#username', 'mia')
  await page.fill('#password', PASSWORD)
  await page.press('#password', 'Enter')
  await page.waitForSelector('#devices-h', { timeout: STEP_TIMEOUT_MS })
  await page.close()
  const stop = async () => {
    await approver.close()
    await child.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
  return { base, approver, stop }
}

/** One login: the step times in ms. */
const oneLogin = async (browser: Browser, base: string, approver: BrowserContext): Promise<number[]> => {
  const fresh = await browser.newContext()
  try {
    const login = await fresh.newPage()
    await login.goto(`${base}/login`)
    await login.waitForFunction(() => (document.getElementById('link-text') as HTMLInputElement | null)?.value.startsWith('http'), null, {
      timeout: STEP_TIMEOUT_MS,
    })
    const link = await login.inputValue('#link-text')
    const approve = await approver.newPage()
    const t0 = performance.now()
    await approve.goto(link)
    await approve.waitForSelector('#check-code-box:not([hidden])', { timeout: STEP_TIMEOUT_MS })
    await login.waitForSelector('#check-form:not([hidden])', { timeout: STEP_TIMEOUT_MS })
    const t1 = performance.now()
    await login.fill('#check-code', ((await approve.textContent('#check-code')) ?? '').trim())
    await login.press('#check-code', 'Enter')
    await approve.waitForSelector('#consent:not([hidden])', { timeout: STEP_TIMEOUT_MS })
    const t2 = performance.now()
    await approve.click('#consent-form button[value="approve"]')
    await login.waitForURL(/\/account$/, { timeout: STEP_TIMEOUT_MS })
    const t3 = performance.now()
    await approve.close()
    return [t1 - t0, t2 - t1, t3 - t2, t3 - t0]
  } finally {
    await fresh.close()
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

const main = async (): Promise<void> => {
  if (CHROMIUM === undefined) throw new Error('no Chromium: apt-get install chromium, or set CHROMIUM_PATH')
  process.stdout.write(
    `# QR login through the pages, Chromium ${CHROMIUM}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  )
  process.stdout.write(`# ${LOGINS} logins per server, alternating\n\n`)
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
  const started: Array<Awaited<ReturnType<typeof startTarget>>> = []
  try {
    for (const target of TARGETS) started.push(await startTarget(target, browser))
    const times: number[][][] = TARGETS.map(() => [])
    for (let i = 0; i < LOGINS; i++) {
      // Every other login in the reverse order, so machine noise falls on both alike.
      const order = i % 2 === 0 ? [0, 1] : [1, 0]
      for (const t of order) times[t]?.push(await oneLogin(browser, started[t]!.base, started[t]!.approver))
    }
    const rows = [
      '| server | handshake ms | check code ms | approval ms | link opened → signed in, ms (median) |',
      '| --- | ---: | ---: | ---: | ---: |',
    ]
    const totals: number[] = []
    TARGETS.forEach((target, t) => {
      const steps = [0, 1, 2, 3].map((s) => median((times[t] ?? []).map((row) => row[s] as number)))
      totals.push(steps[3] as number)
      rows.push(
        `| ${target.name} | ${steps
          .slice(0, 3)
          .map((v) => v.toFixed(0))
          .join(' | ')} | ${(steps[3] as number).toFixed(0)} |`,
      )
    })
    process.stdout.write(
      `${rows.join('\n')}\n\nWebSocket ÷ polling, whole login: ${((totals[0] as number) / (totals[1] as number)).toFixed(2)} ×\n`,
    )
  } finally {
    for (const target of started) await target.stop()
    await browser.close()
  }
}

await main().catch((error: unknown) => {
  process.stderr.write(`pages bench failed: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
