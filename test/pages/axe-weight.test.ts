/**
 * Every page and state in Chromium under axe-core (light and dark): no serious or critical
 * violation. Then the page weight: HTML + CSS + JS of each page, gzipped, against the budget of
 * docs/pages.md.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import type { SpawnedServer } from '../helpers/spawn-server.ts'
import { type AxeFinding, seriousAxeViolations } from './axe-check.ts'
import { browserAvailable, launchChromium } from './browser.ts'
import { FROM_ANOTHER_NETWORK, PASSWORD, startPagesServer, TRUST_REAL_IP_HEADER, signInToPages } from './pages-server.ts'

/** The budget of docs/pages.md: gzipped bytes of one page's HTML, style sheet and scripts together. */
const BUDGET = 8 * 1024
/** The same for the channel pages, which load the page script (the SDK and its crypto). */
const BUDGET_CHANNEL_PAGE = 72 * 1024
const CHANNEL_PAGES = ['/login', '/approve']

describe.skipIf(!browserAvailable)('accessibility (axe) and page weight', () => {
  let server: SpawnedServer
  let browser: Browser
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-axe-'))
  const problems: Record<string, AxeFinding[]> = {}
  const weights: Record<string, { html: number; css: number; js: number; total: number }> = {}

  beforeAll(async () => {
    // The grant of the step-up state names another address through the proxy header (the browser sends none):
    // the two devices are then on different networks, and the policy asks for a step-up.
    server = await startPagesServer(dataDir, ['gus', 'hal'], {
      QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
      ...TRUST_REAL_IP_HEADER,
    })
    browser = await launchChromium()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  /** Runs axe on the page as it is now, in both colour schemes; records serious and critical violations under `name`. */
  const check = async (page: Page, name: string): Promise<void> => {
    for (const [colorScheme, bad] of Object.entries(await seriousAxeViolations(page))) problems[`${name} (${colorScheme})`] = bad
  }

  /** Records the gzipped weight of the page at `path` as the browser loaded it. */
  const weigh = async (ctx: BrowserContext, name: string, path: string): Promise<void> => {
    const page = await ctx.newPage()
    const bodies = { html: 0, css: 0, js: 0 }
    const pending: Promise<void>[] = []
    page.on('response', (res) => {
      const type = res.request().resourceType()
      const kind = type === 'document' ? 'html' : type === 'stylesheet' ? 'css' : type === 'script' ? 'js' : null
      if (kind === null) return
      pending.push(
        res.body().then(
          (body) => {
            bodies[kind] += gzipSync(body).length
          },
          () => {},
        ),
      )
    })
    await page.goto(`${server.url}${path}`, { waitUntil: 'load' })
    await Promise.all(pending)
    weights[name] = { ...bodies, total: bodies.html + bodies.css + bodies.js }
    await page.close()
  }

  it('every page and state has no serious or critical axe violation, light and dark', async () => {
    // axe is injected as an inline script: this context lets it past the pages' CSP (the pages themselves stay unchanged).
    const ctx = await browser.newContext({ bypassCSP: true })
    const page = await ctx.newPage()
    // The harness finds what it should: a page with an unlabelled image and field fails.
    await page.setContent('<!doctype html><html><body><img src="data:,"><input></body></html>')
    await check(page, 'control')
    expect(problems['control (light)']?.map((v) => v.id)).toEqual(expect.arrayContaining(['image-alt', 'label']))
    delete problems['control (light)']
    delete problems['control (dark)']
    await page.goto(`${server.url}/device`)
    await check(page, '/device')
    await page.fill('#user_code', '!!')
    await page.press('#user_code', 'Enter')
    await check(page, '/device (bad code)')
    await page.goto(`${server.url}/signin`)
    await check(page, '/signin')
    await page.fill('#username', 'gus')
    await page.fill('#password', 'wrong password here')
    await page.press('#password', 'Enter')
    await check(page, '/signin (wrong password)')
    await page.goto(`${server.url}/login`)
    await page.waitForSelector('#qr:not([hidden])')
    await check(page, '/login (QR shown)')
    await page.goto(`${server.url}/approve`)
    await check(page, '/approve (no link)')
    // An address with no page, opened by the browser: the 404 page, not the API's JSON.
    const missing = await page.goto(`${server.url}/acount`)
    expect(missing?.status()).toBe(404)
    await page.waitForSelector('a[href="/account"]')
    await check(page, '/acount (404)')

    await signInToPages(page, server.url, 'gus')
    await check(page, '/account')
    await page.goto(`${server.url}/account/show-qr`)
    await page.waitForSelector('#qr:not([hidden])')
    await check(page, '/account/show-qr (QR shown)')
    await page.goto(`${server.url}/link`)
    await check(page, '/link')
    // A consent screen for a typed code.
    const holder = await dpopHolder()
    // A new device's grant ("Smart TV"), DPoP-signed by the same holder each time.
    const requestGrant = async (headers: Readonly<Record<string, string>> = {}) =>
      fetch(`${server.url}/oauth2/device_authorization`, {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/x-www-form-urlencoded',
          dpop: await holder.prove('POST', `${server.url}/oauth2/device_authorization`, Date.now()),
        },
        body: new URLSearchParams({ channel_binding: 'a'.repeat(43), device_name: 'Smart TV' }).toString(),
      })
    const res = await requestGrant()
    const { user_code: userCode } = (await res.json()) as { user_code: string }
    await page.goto(`${server.url}/device?user_code=${userCode}`)
    await check(page, '/device (consent)')
    await page.press('button[value="decline"]', 'Enter')
    await check(page, '/device/decide (declined)')
    // An approved typed code: the code for the new device.
    const again = await requestGrant()
    await page.goto(`${server.url}/device?user_code=${((await again.json()) as { user_code: string }).user_code}`)
    await page.click('button[value="approve"]')
    await page.waitForSelector('#initiation-code')
    await check(page, '/device/decide (approved: the code for the new device)')
    // The inline step-up: a new device on another network, so Approve asks for the password on the consent form.
    const far = await requestGrant(FROM_ANOTHER_NETWORK)
    await page.goto(`${server.url}/device?user_code=${((await far.json()) as { user_code: string }).user_code}`)
    await page.click('button[value="approve"]')
    await page.waitForSelector('input[name="password"]')
    await check(page, '/device/decide (inline step-up)')
    await page.fill('input[name="password"]', 'wrong password here')
    await page.click('button[value="approve"]')
    await page.waitForSelector('[role="alert"]')
    await check(page, '/device/decide (inline step-up, wrong password)')

    await page.goto(`${server.url}/account`)
    await page.click('text=Set up two-step verification')
    await check(page, '/account/totp/begin (confirm)')
    await page.fill('#confirm-password', PASSWORD)
    await page.press('#confirm-password', 'Enter')
    await page.waitForSelector('img.qr')
    await check(page, '/account/totp/begin (QR and key)')
    const seed = totpSecretFromBase32(((await page.textContent('code.key')) ?? '').replace(/\s/g, ''))
    if (!seed.ok) throw new Error('bad key')
    await page.fill('#code', generateTotp(seed.value.bytes(), Date.now()))
    await page.press('#code', 'Enter')
    await page.waitForSelector('#recovery-codes')
    await check(page, '/account/totp/confirm (recovery codes)')
    await page.goto(`${server.url}/account`)
    await check(page, '/account (two-step on)')
    await page.fill('#pw-password', 'wrong password here')
    await page.fill('#new_password', 'short')
    await page.evaluate(() => document.querySelector('#new_password')?.removeAttribute('minlength'))
    await page.click('button:has-text("Change password")')
    await check(page, '/account/password (refused)')
    await page.goto(`${server.url}/account`)
    await page.click('header + main button:has-text("Sign out")')
    await check(page, '/signout')
    await ctx.close()
    expect(problems).toEqual({})
  }, 240_000)

  it('every page is within the weight budget (gzipped HTML + CSS + JS)', async () => {
    const ctx = await browser.newContext()
    const signin = await ctx.newPage()
    await signInToPages(signin, server.url, 'hal')
    await signin.close()
    for (const [name, path] of [
      ['/account', '/account'],
      ['/device', '/device'],
      ['/signin', '/signin'],
      ['/login', '/login'],
      ['/approve', '/approve'],
    ] as const) {
      await weigh(ctx, name, path)
    }
    await ctx.close()
    console.info(`page weights (gzipped bytes): ${JSON.stringify(weights)}`)
    for (const [name, w] of Object.entries(weights)) {
      expect(w.total, name).toBeLessThanOrEqual(CHANNEL_PAGES.includes(name) ? BUDGET_CHANNEL_PAGE : BUDGET)
    }
    expect(weights['/login']?.js).toBeGreaterThan(0)
  }, 120_000)
})
