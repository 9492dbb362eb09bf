/**
 * `/device` and `/signin` in Chromium against a real server: code entry without and with
 * JavaScript, look-alike tolerant codes, password then TOTP sign-in, the consent screen with Decline
 * as the default, German by Accept-Language, the CSP header and no CSP violation in the console.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'
import { call, login, viaFetch, withUia } from '../helpers/account-client.ts'
import { type DpopHolder, dpopHolder } from '../helpers/dpop.ts'
import type { SpawnedServer } from '../helpers/spawn-server.ts'
import { browserAvailable, launchChromium } from './browser.ts'
import { PASSWORD, startPagesServer } from './pages-server.ts'

const ALICE = 'alice'
const BOB = 'bob'

/** A pending grant's user code, asked for by a new device over the API. */
const newUserCode = async (url: string, deviceName: string): Promise<string> => (await newGrant(url, deviceName)).userCode

/** A new device's grant: its key, user code and device code. */
const newGrant = async (url: string, deviceName: string) => {
  const holder = await dpopHolder()
  const res = await fetch(`${url}/oauth2/device_authorization`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await holder.prove('POST', `${url}/oauth2/device_authorization`, Date.now()),
    },
    body: new URLSearchParams({ channel_binding: 'b'.repeat(43), device_name: deviceName }).toString(),
  })
  const body = (await res.json()) as Record<string, string>
  expect(res.status, JSON.stringify(body)).toBe(200)
  return { holder, userCode: body.user_code as string, deviceCode: body.device_code as string }
}

/** The new device's DPoP-signed form POST to `path`. */
const devicePost = async (url: string, holder: DpopHolder, path: string, fields: Record<string, string>) => {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await holder.prove('POST', `${url}${path}`, Date.now()) },
    body: new URLSearchParams(fields).toString(),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** The code as a careless person types it: lower case, spaces, and a look-alike digit for S or Z. */
const sloppy = (shown: string): string => shown.toLowerCase().replace('-', ' - ').replace(/s/, '5').replace(/z/, '2')

const watchCsp = (page: Page, into: string[]): void => {
  page.on('console', (m) => {
    if (/content security policy/i.test(m.text())) into.push(m.text())
  })
}

describe.skipIf(!browserAvailable)('pages in Chromium', () => {
  let server: SpawnedServer
  let browser: Browser
  let totpSeed: Uint8Array
  const violations: string[] = []
  // The server's SQLite file and keys live in a directory of this run, removed afterwards.
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-pages-'))

  beforeAll(async () => {
    // The shortest poll interval the settings allow (1 s, not 5): one test waits it out before its second poll.
    server = await startPagesServer(dataDir, [ALICE, BOB], { QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_POLL_INTERVAL_SECONDS: '1' })
    const send = viaFetch(server.url)
    // bob has TOTP: enrol over the API, confirm with a real code.
    const bob = await login(send, BOB, PASSWORD)
    const enrol = await withUia(send, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, bob.access_token)
    const seed = totpSecretFromBase32(enrol.final.body.secret as string)
    if (!seed.ok) throw new Error('bad TOTP seed')
    totpSeed = seed.value.bytes()
    expect(
      (await call(send, 'POST', '/v1/account/totp/confirm', { code: generateTotp(totpSeed, Date.now()) }, bob.access_token)).status,
    ).toBe(200)
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  const context = (options: { javaScriptEnabled?: boolean; locale?: string } = {}): Promise<BrowserContext> =>
    browser.newContext({ javaScriptEnabled: options.javaScriptEnabled ?? true, locale: options.locale ?? 'en-US' })

  it('sends the page security headers and a hashed, long-cached style sheet', async () => {
    const res = await fetch(`${server.url}/device`)
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9_-]{22}'/)
    for (const part of ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"])
      expect(csp).toContain(part)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(res.headers.get('cache-control')).toBe('no-store')
    const css = (await res.text()).match(/href="(\/assets\/style\.[A-Za-z0-9_-]{16}\.css)"/)?.[1]
    expect(css).toBeDefined()
    const sheet = await fetch(`${server.url}${css}`)
    expect(sheet.headers.get('cache-control')).toContain('immutable')
  })

  it('without JavaScript: a sloppy code, password sign-in, then the consent screen where Enter declines', async () => {
    const shown = await newUserCode(server.url, 'Living-room TV')
    const ctx = await context({ javaScriptEnabled: false })
    const page = await ctx.newPage()
    watchCsp(page, violations)
    await page.goto(`${server.url}/device`)
    await page.fill('#user_code', sloppy(shown))
    await page.press('#user_code', 'Enter')
    await expect.poll(() => page.locator('#username').count()).toBe(1)
    expect(await page.textContent('main')).toContain(shown)
    await page.fill('#username', ALICE)
    await page.fill('#password', PASSWORD)
    await page.press('#password', 'Enter')
    await page.waitForSelector('button[value="decline"]')
    const main = (await page.textContent('main')) ?? ''
    expect(main).toContain('ANOTHER device')
    expect(main).toContain('Living-room TV')
    expect(main).toContain('chosen by that device')
    // Decline comes first in the form, so Enter submits it; it also has the focus.
    const first = await page.locator('form button').first().getAttribute('value')
    expect(first).toBe('decline')
    await page.press('button[value="decline"]', 'Enter')
    await page.waitForSelector('text=Declined')
    await ctx.close()
  })

  it('with JavaScript: verification_uri_complete, password and a real TOTP code, Approve, the code typed on the new device', async () => {
    const grant = await newGrant(server.url, 'Kitchen tablet')
    const shown = grant.userCode
    const ctx = await context()
    const page = await ctx.newPage()
    watchCsp(page, violations)
    await page.goto(`${server.url}/approve?user_code=${encodeURIComponent(shown)}`)
    await page.fill('#username', BOB)
    await page.fill('#password', PASSWORD)
    await page.click('button[type="submit"]')
    await page.waitForSelector('#totp')
    await page.fill('#totp', generateTotp(totpSeed, Date.now() + 30_000))
    await page.click('button[type="submit"]')
    await page.waitForSelector('button[value="decline"]')
    expect(await page.textContent('main')).toContain('Kitchen tablet')
    await page.click('button[value="approve"]')
    // Without a channel, the approval shows a code the new device must send before it gets tokens.
    const code = ((await page.textContent('#initiation-code')) ?? '').trim()
    expect(code).toMatch(/^\d{6}$/)
    const token = { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: grant.deviceCode }
    expect((await devicePost(server.url, grant.holder, '/oauth2/token', token)).body.error).toBe('authorization_pending')
    const entered = await devicePost(server.url, grant.holder, '/v1/device-verification', { device_code: grant.deviceCode, code })
    expect(entered.body).toEqual({ status: 'verified' })
    // The poll interval (1 s here) since the first poll, or the answer is slow_down.
    await new Promise((r) => setTimeout(r, 1_100))
    const tokens = await devicePost(server.url, grant.holder, '/oauth2/token', token)
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200)
    await ctx.close()
  })

  it('Decline on /device denies the new device (its poll hears access_denied)', async () => {
    const grant = await newGrant(server.url, 'Hotel TV')
    const ctx = await context({ javaScriptEnabled: false })
    const page = await ctx.newPage()
    await page.goto(`${server.url}/device?user_code=${encodeURIComponent(grant.userCode)}`)
    await page.fill('#username', ALICE)
    await page.fill('#password', PASSWORD)
    await page.click('button[type="submit"]')
    await page.waitForSelector('button[value="decline"]')
    await page.press('button[value="decline"]', 'Enter')
    await page.waitForSelector('text=Nothing was signed in')
    const token = { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: grant.deviceCode }
    expect((await devicePost(server.url, grant.holder, '/oauth2/token', token)).body.error).toBe('access_denied')
    await ctx.close()
  })

  it('a wrong password is refused with a catalogued message', async () => {
    const ctx = await context({ javaScriptEnabled: false })
    const page = await ctx.newPage()
    await page.goto(`${server.url}/signin`)
    await page.fill('#username', ALICE)
    await page.fill('#password', 'not the password at all')
    await page.press('#password', 'Enter')
    await page.waitForSelector('.error')
    expect(await page.textContent('.error')).toBe('Wrong username or password.')
    await ctx.close()
  })

  it('speaks German by Accept-Language, and the switcher changes it', async () => {
    const ctx = await context({ locale: 'de-DE' })
    const page = await ctx.newPage()
    watchCsp(page, violations)
    await page.goto(`${server.url}/device`)
    expect(await page.getAttribute('html', 'lang')).toBe('de')
    expect(await page.textContent('h1')).toBe('Geben Sie den Code vom anderen Gerät ein')
    await page.click('a[hreflang="en"]')
    expect(await page.textContent('h1')).toBe('Enter the code shown on the other device')
    await ctx.close()
  })

  it('refuses a form POST from another origin', async () => {
    const res = await fetch(`${server.url}/signin`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=x',
    })
    expect(res.status).toBe(403)
  })

  it('refuses a page form larger than 16 KiB before parsing it', async () => {
    const res = await fetch(`${server.url}/device`, {
      method: 'POST',
      headers: { origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: `user_code=${'B'.repeat(20_000)}`,
    })
    expect(res.status).toBe(413)
  })

  it('logged no CSP violation', () => {
    expect(violations).toEqual([])
  })
})
