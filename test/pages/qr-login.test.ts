/**
 * A whole QR login in two Chromium contexts, nothing else installed: the new device opens `/login`
 * (the page script creates the channel and shows the QR), the test reads the QR from a screenshot
 * (jsQR, not the DOM), the signed-in browser opens the link (`/approve#…`), shows the check code,
 * the new device types it, the consent screen comes with Decline focused, the person approves, and
 * the new device is signed in. Also: a wrong check code stops both sides; Decline is the default; a new
 * device on another network makes the approval ask for a step-up, answered with a real TOTP code.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_TOTP_PARAMS, generateTotp, totpSecretFromBase32, totpStep } from '../../src/core/auth/totp.ts'
import { type SpawnedServer, spawnServer } from '../helpers/spawn-server.ts'
import { seriousAxeViolations } from './axe-check.ts'
import { browserAvailable, launchChromium } from './browser.ts'
import { FROM_ANOTHER_NETWORK, PASSWORD, startPagesServer, TRUST_REAL_IP_HEADER, signInToPages } from './pages-server.ts'
import { readQrFromScreenshot } from './qr-screenshot.ts'

describe.skipIf(!browserAvailable)('QR login between two browsers', () => {
  let server: SpawnedServer
  let browser: Browser
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-qr-pages-'))
  const errors: string[] = []

  beforeAll(async () => {
    // gil and ida enrol TOTP for the step-up tests; the server trusts the test's address header (another network).
    server = await startPagesServer(dataDir, ['fay', 'gil', 'ida'], { QRELAY_APPROVER_MIN_AGE_SECONDS: '0', ...TRUST_REAL_IP_HEADER })
    browser = await launchChromium()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  const watch = (page: Page): Page => {
    page.on('console', (m) => {
      // Answers like `authorization_pending` (400) and a closed channel (404) are the protocol, not errors of the page.
      if (/^Failed to load resource/.test(m.text())) return
      if (m.type() === 'error' || /content security policy/i.test(m.text())) errors.push(m.text())
    })
    page.on('pageerror', (e) => errors.push(String(e)))
    return page
  }

  /** A context (with `options`) signed in to the pages as `username`. */
  const signedInContext = async (username = 'fay', options: BrowserContextOptions = {}): Promise<BrowserContext> => {
    const ctx = await browser.newContext(options)
    const page = watch(await ctx.newPage())
    await signInToPages(page, server.url, username)
    await page.close()
    return ctx
  }

  /** The new device's /login up to the QR, and the existing device's page opened from it, up to the check code. */
  const pair = async (approver?: BrowserContext, freshOptions: BrowserContextOptions = {}) => {
    const fresh = await browser.newContext(freshOptions)
    approver ??= await signedInContext()
    const login = watch(await fresh.newPage())
    const sockets = { login: [] as string[], approve: [] as string[] }
    login.on('websocket', (ws) => sockets.login.push(ws.url()))
    await login.goto(`${server.url}/login`)
    const link = await readQrFromScreenshot(browser, login)
    expect(link).toMatch(new RegExp(`^${server.url}/approve#v1\\.`))
    const approve = watch(await approver.newPage())
    approve.on('websocket', (ws) => sockets.approve.push(ws.url()))
    await approve.goto(link)
    await approve.waitForSelector('#check-code-box:not([hidden])')
    // The fragment is gone from the address bar once read.
    expect(new URL(approve.url()).hash).toBe('')
    const code = ((await approve.textContent('#check-code')) ?? '').trim()
    expect(code).toMatch(/^\d{2}$/)
    await login.waitForSelector('#check-form:not([hidden])')
    return { fresh, approver, login, approve, code, sockets }
  }

  /** Types the check code on `typer`'s page and waits for the consent screen on `consent`'s. */
  const confirmCheckCode = async (typer: Page, code: string, consent: Page): Promise<void> => {
    await typer.fill('#check-code', code)
    await typer.press('#check-code', 'Enter')
    await consent.waitForSelector('#consent:not([hidden])')
  }

  /**
   * The new browser after approval: on /account with its own device marked "this device", signed in
   * by QR and approved by the other browser; no token in `document.cookie` nor in IndexedDB.
   */
  const landsOnAccount = async (login: Page): Promise<void> => {
    await login.waitForURL(/\/account$/, { timeout: 30_000 })
    const current = login.locator('li.device.current')
    await expect.poll(() => current.count()).toBe(1)
    expect(await current.locator('h3').textContent()).toContain('Web browser')
    expect(await current.locator('dd').first().textContent()).toMatch(/^QR code, approved by “/)
    expect(await login.evaluate(() => document.cookie)).toBe('')
    const stored = await login.evaluate(async () => {
      const names = (await indexedDB.databases()).map((d) => d.name ?? '')
      const values: string[] = []
      for (const name of names.slice(0, 10)) {
        const db = await new Promise<IDBDatabase>((ok, fail) => {
          const open = indexedDB.open(name)
          open.onsuccess = () => ok(open.result)
          open.onerror = () => fail(open.error)
        })
        for (const store of Array.from(db.objectStoreNames).slice(0, 10)) {
          const all = await new Promise<unknown[]>((ok) => {
            const req = db.transaction(store).objectStore(store).getAll()
            req.onsuccess = () => ok(req.result)
          })
          values.push(JSON.stringify(all))
        }
        db.close()
      }
      return values.join('')
    })
    // Device tokens are `<id>.<secret>` (base64url halves): none may be readable by a script.
    expect(stored).not.toMatch(/[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{40,}/)
  }

  it('signs the new browser in: QR from a screenshot, check code, consent with Decline focused, approve', async () => {
    const { fresh, approver, login, approve, code, sockets } = await pair()
    await confirmCheckCode(login, code, approve)
    expect(await approve.textContent('#consent-name')).toBe('Web browser')
    expect(await approve.evaluate(() => document.activeElement?.id)).toBe('consent-decline')
    expect(await approve.locator('#consent-form button').first().getAttribute('value')).toBe('decline')
    await approve.click('#consent-form button[value="approve"]')
    await approve.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Approved'))
    await landsOnAccount(login)
    // Both pages talked over the channel's WebSocket (no polling), and on the same channel.
    expect(sockets.login).toHaveLength(1)
    expect(sockets.approve).toEqual(sockets.login)
    expect(sockets.login[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/v1\/rendezvous\/[A-Za-z0-9_-]+\/ws$/)
    await fresh.close()
    await approver.close()
  }, 90_000)

  const STEP_MS = DEFAULT_TOTP_PARAMS.periodSeconds * 1000

  /**
   * Turns on TOTP for the signed-in account of `ctx` from /account; returns the key's bytes, the
   * recovery codes, and when a code of a later step than the enrolment's can be made (see below).
   */
  const enrolTotp = async (ctx: BrowserContext): Promise<{ key: Uint8Array; recovery: string[]; laterCodeAt: () => number }> => {
    const page = watch(await ctx.newPage())
    await page.goto(`${server.url}/account`)
    await page.click('text=Set up two-step verification')
    await page.fill('#confirm-password', PASSWORD)
    await page.press('#confirm-password', 'Enter')
    await page.waitForSelector('img.qr')
    const seed = totpSecretFromBase32(((await page.textContent('code.key')) ?? '').replace(/\s/g, ''))
    if (!seed.ok) throw new Error('bad key on the page')
    // The current step's code: the server accepts codes of ±1 step, so it stays good until the next step
    // ends, however slow the page (no waiting for a step edge). That step is then used: a later code
    // must be of a later step, the current one once the step has turned, else the next one (+1, inside
    // the window, as an authenticator whose clock runs a little ahead would send).
    const enrolled = totpStep(Date.now(), DEFAULT_TOTP_PARAMS.periodSeconds)
    await page.fill('#code', generateTotp(seed.value.bytes(), enrolled * STEP_MS))
    await page.press('#code', 'Enter')
    await page.waitForSelector('#recovery-codes')
    const recovery = await page.locator('#recovery-codes code').allTextContents()
    await page.close()
    return { key: seed.value.bytes(), recovery, laterCodeAt: () => Math.max(Date.now(), (enrolled + 1) * STEP_MS) }
  }

  it('a new device on another network: the approval asks for a step-up, a wrong TOTP code is refused, the real one approves', async () => {
    // axe is injected as an inline script: this context lets it past the pages' CSP.
    const approver = await signedInContext('gil', { bypassCSP: true })
    const { key, laterCodeAt } = await enrolTotp(approver)
    const { fresh, login, approve, code } = await pair(approver, { extraHTTPHeaders: FROM_ANOTHER_NETWORK })
    await confirmCheckCode(login, code, approve)
    await approve.click('#consent-form button[value="approve"]')
    // Far apart, TOTP enrolled: the authenticator (or a recovery code) is asked for, not the password.
    await approve.waitForSelector('#stepup:not([hidden])')
    expect(await approve.isVisible('#stepup-totp')).toBe(true)
    expect(await approve.isVisible('#stepup-password')).toBe(false)
    expect(await approve.evaluate(() => document.activeElement?.id)).toBe('stepup-totp')
    expect(await seriousAxeViolations(approve)).toEqual({})
    const real = generateTotp(key, laterCodeAt())
    await approve.fill('#stepup-totp', real === '000000' ? '111111' : '000000')
    await approve.press('#stepup-totp', 'Enter')
    await approve.waitForFunction(() => document.getElementById('stepup-problem')?.textContent !== '')
    expect(await approve.textContent('#stepup-problem')).toBe('That code is wrong or was already used.')
    expect(await approve.isVisible('#stepup-totp')).toBe(true)
    expect(await approve.inputValue('#stepup-totp')).toBe('')
    expect(await seriousAxeViolations(approve)).toEqual({})
    await approve.fill('#stepup-totp', generateTotp(key, laterCodeAt()))
    await approve.press('#stepup-totp', 'Enter')
    await approve.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Approved'))
    await landsOnAccount(login)
    await fresh.close()
    await approver.close()
  }, 120_000)

  it('a wrong check code stops the login on both sides', async () => {
    const { fresh, approver, login, approve, code } = await pair()
    const wrong = code === '00' ? '11' : '00'
    await login.fill('#check-code', wrong)
    await login.press('#check-code', 'Enter')
    await login.waitForFunction(() => document.getElementById('status')?.textContent?.includes('did not match'))
    await approve.waitForFunction(() => document.getElementById('status')?.textContent?.includes('Nothing was signed in'), undefined, {
      timeout: 30_000,
    })
    await fresh.close()
    await approver.close()
  }, 90_000)

  it('Enter on the consent screen declines, and the new device is told', async () => {
    const { fresh, approver, login, approve, code } = await pair()
    await confirmCheckCode(login, code, approve)
    await approve.keyboard.press('Enter')
    await approve.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Declined'))
    await login.waitForFunction(() => document.getElementById('status')?.textContent?.includes('declined'), undefined, { timeout: 30_000 })
    await fresh.close()
    await approver.close()
  }, 90_000)

  it('a browser not signed in keeps the link through the sign-in, then continues the approval', async () => {
    const fresh = await browser.newContext()
    const stranger = await browser.newContext()
    const login = watch(await fresh.newPage())
    await login.goto(`${server.url}/login`)
    const link = await readQrFromScreenshot(browser, login)
    const approve = watch(await stranger.newPage())
    await approve.goto(link)
    await approve.waitForSelector('#username')
    expect(new URL(approve.url()).pathname).toBe('/signin')
    expect(approve.url()).not.toContain('#')
    await approve.fill('#username', 'fay')
    await approve.fill('#password', PASSWORD)
    await approve.press('#password', 'Enter')
    await approve.waitForSelector('#check-code-box:not([hidden])')
    expect(new URL(approve.url()).pathname).toBe('/approve')
    const code = ((await approve.textContent('#check-code')) ?? '').trim()
    await login.waitForSelector('#check-form:not([hidden])')
    await confirmCheckCode(login, code, approve)
    await approve.click('#consent-form button[value="approve"]')
    await login.waitForURL(/\/account$/, { timeout: 30_000 })
    await fresh.close()
    await stranger.close()
  }, 90_000)

  it('the other way round: the signed-in browser shows the QR on /account/show-qr, the new one opens /link#… and lands on /account as this device', async () => {
    const shower = await signedInContext()
    const fresh = await browser.newContext()
    const show = watch(await shower.newPage())
    await show.goto(`${server.url}/account`)
    await show.click('a[href="/account/show-qr"]')
    const link = await readQrFromScreenshot(browser, show)
    expect(link).toMatch(new RegExp(`^${server.url}/link#v1\\.`))
    const scanner = watch(await fresh.newPage())
    await scanner.goto(link)
    await scanner.waitForSelector('#check-code-box:not([hidden])')
    expect(new URL(scanner.url()).hash).toBe('')
    const code = ((await scanner.textContent('#check-code')) ?? '').trim()
    await show.waitForSelector('#check-form:not([hidden])')
    await confirmCheckCode(show, code, show)
    expect(await show.evaluate(() => document.activeElement?.id)).toBe('consent-decline')
    await show.click('#consent-form button[value="approve"]')
    await landsOnAccount(scanner)
    await shower.close()
    await fresh.close()
  }, 90_000)

  it('the reciprocate intent from another network: /account/show-qr asks for a step-up, a recovery code approves', async () => {
    const shower = await signedInContext('ida', { bypassCSP: true })
    const { recovery } = await enrolTotp(shower)
    const fresh = await browser.newContext({ extraHTTPHeaders: FROM_ANOTHER_NETWORK })
    const show = watch(await shower.newPage())
    await show.goto(`${server.url}/account/show-qr`)
    const scanner = watch(await fresh.newPage())
    await scanner.goto(await readQrFromScreenshot(browser, show))
    await scanner.waitForSelector('#check-code-box:not([hidden])')
    const code = ((await scanner.textContent('#check-code')) ?? '').trim()
    await show.waitForSelector('#check-form:not([hidden])')
    await confirmCheckCode(show, code, show)
    await show.click('#consent-form button[value="approve"]')
    await show.waitForSelector('#stepup:not([hidden])')
    expect(await show.isVisible('#stepup-password')).toBe(false)
    expect(await seriousAxeViolations(show)).toEqual({})
    await show.fill('#stepup-recovery', recovery[0] ?? '')
    await show.press('#stepup-recovery', 'Enter')
    await landsOnAccount(scanner)
    await shower.close()
    await fresh.close()
  }, 120_000)

  it('logged no script error and no CSP violation', () => {
    expect(errors).toEqual([])
  })
})

describe.skipIf(!browserAvailable)('an expired QR code on /login', () => {
  let server: SpawnedServer
  let browser: Browser
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-qr-expiry-'))

  beforeAll(async () => {
    // The shortest channel lifetime the settings allow, so the page must replace its QR code soon.
    server = await spawnServer({ QRELAY_DATA_DIR: dataDir, QRELAY_NATIVE_TTL_SECONDS: '10' })
    browser = await launchChromium()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('is replaced by a new one without a reload', async () => {
    const ctx = await browser.newContext()
    const page = await ctx.newPage()
    let loads = 0
    page.on('load', () => loads++)
    await page.goto(`${server.url}/login`)
    await page.waitForSelector('#qr:not([hidden])')
    const shownFirst = await page.getAttribute('#qr', 'src')
    const first = await readQrFromScreenshot(browser, page)
    await page.waitForFunction((old) => (document.getElementById('qr') as HTMLImageElement | null)?.src !== old, shownFirst, {
      timeout: 40_000,
    })
    const second = await readQrFromScreenshot(browser, page)
    expect(second).not.toBe(first)
    expect(second).toMatch(new RegExp(`^${server.url}/approve#v1\\.`))
    expect(await page.textContent('#status')).toMatch(/new one|Waiting/)
    expect(loads).toBe(1)
    await ctx.close()
  }, 90_000)
})

describe.skipIf(!browserAvailable)('authenticate-then-initiate (QRELAY_INITIATION_REQUIRE_AUTH)', () => {
  let server: SpawnedServer
  let browser: Browser
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-qr-require-auth-'))

  beforeAll(async () => {
    server = await startPagesServer(dataDir, ['kim'], { QRELAY_INITIATION_REQUIRE_AUTH: 'true' })
    browser = await launchChromium()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('the signed-in browser still shows its QR code on /account/show-qr (the page session is its creator)', async () => {
    const ctx = await browser.newContext()
    const page = await ctx.newPage()
    await signInToPages(page, server.url, 'kim')
    await page.goto(`${server.url}/account/show-qr`)
    expect(await readQrFromScreenshot(browser, page)).toMatch(new RegExp(`^${server.url}/link#v1\\.`))
    // The API's create still asks for a token: only the page session stood in for one.
    const anonymous = await fetch(`${server.url}/v1/rendezvous`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"data":""}',
    })
    expect(anonymous.status).toBe(401)
    await ctx.close()
  }, 90_000)
})
