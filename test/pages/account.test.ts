/**
 * `/account` in Chromium against a real server: the device list (this device marked, a QR-signed-in
 * device with its approver), signing a device out with a password confirmation, "not me" from one
 * browser context signing the other out, TOTP enrolment from the page's key with a real code, the
 * recovery codes (shown once, downloaded, regenerated), the password change with "sign out my other
 * devices" checked by default, sign-out, and German. Every page without JavaScript.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'
import { call, login, viaFetch, withUia } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import type { SpawnedServer } from '../helpers/spawn-server.ts'
import { browserAvailable, launchChromium } from './browser.ts'
import { PASSWORD, startPagesServer, signInToPages } from './pages-server.ts'

const NEW_PASSWORD = 'a different long passphrase 7'

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' } as Record<string, string>,
  body: new URLSearchParams(fields).toString(),
})

describe.skipIf(!browserAvailable)('/account in Chromium', () => {
  let server: SpawnedServer
  let browser: Browser
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-account-'))
  let send: ReturnType<typeof viaFetch>

  /** A QR login over the API: `approverToken`'s device approves a new device named `name`. */
  const qrDevice = async (approverToken: string, name: string): Promise<string> => {
    const holder = await dpopHolder()
    const binding = 'q'.repeat(43)
    const grantRes = await fetch(`${server.url}/oauth2/device_authorization`, {
      ...form({ channel_binding: binding, device_name: name }),
      headers: { ...form({}).headers, dpop: await holder.prove('POST', `${server.url}/oauth2/device_authorization`, Date.now()) },
    })
    const grant = (await grantRes.json()) as Record<string, string>
    const decided = await call(
      send,
      'POST',
      `/v1/approvals/${grant.user_code}`,
      { decision: 'approve', channel_binding: binding, dpop_jkt: holder.jkt },
      approverToken,
    )
    expect(decided.status, JSON.stringify(decided.body)).toBe(200)
    const tokenRes = await fetch(`${server.url}/oauth2/token`, {
      ...form({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: grant.device_code ?? '' }),
      headers: { ...form({}).headers, dpop: await holder.prove('POST', `${server.url}/oauth2/token`, Date.now()) },
    })
    const tokens = (await tokenRes.json()) as Record<string, string>
    expect(tokenRes.status, JSON.stringify(tokens)).toBe(200)
    return tokens.device_id ?? ''
  }

  beforeAll(async () => {
    server = await startPagesServer(dataDir, ['carol', 'dave', 'erik', 'ivy'], { QRELAY_APPROVER_MIN_AGE_SECONDS: '0' })
    send = viaFetch(server.url)
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  const context = (locale = 'en-US'): Promise<BrowserContext> =>
    browser.newContext({ javaScriptEnabled: false, locale, acceptDownloads: true })

  /** Opens /account, signs in on the way (the sign-in page comes back to /account). */
  const signInToAccount = async (ctx: BrowserContext, username: string, password = PASSWORD, recovery?: string): Promise<Page> => {
    const page = await ctx.newPage()
    await page.goto(`${server.url}/account`)
    expect(new URL(page.url()).pathname).toBe('/signin')
    await page.fill('#username', username)
    await page.fill('#password', password)
    await page.press('#password', 'Enter')
    if (recovery !== undefined) {
      await page.waitForSelector('#recovery')
      await page.fill('#recovery', recovery)
      await page.press('#recovery', 'Enter')
    }
    await page.waitForSelector('#devices-h')
    expect(new URL(page.url()).pathname).toBe('/account')
    return page
  }

  /** The device id of a browser context's page session (read by the test harness, not by a page). */
  const deviceOf = async (ctx: BrowserContext): Promise<string> => {
    const token = (await ctx.cookies()).find((c) => c.name === 'qrelay-page')?.value ?? ''
    const who = await call(send, 'GET', '/v1/account/whoami', undefined, token)
    return who.body.device_id as string
  }

  it('lists the devices: this one marked, a QR device with its approver, and signs one out after the password', async () => {
    const cli = await login(send, 'carol', PASSWORD, undefined, 'Laptop CLI')
    await qrDevice(cli.access_token, 'Kitchen tablet')
    const ctx = await context()
    const page = await signInToAccount(ctx, 'carol')
    const current = page.locator('li.device.current')
    expect(await current.locator('h3').textContent()).toContain('This device')
    expect(await current.locator('form').count()).toBe(0)
    const tablet = page.locator('li.device', { hasText: 'Kitchen tablet' })
    expect(await tablet.textContent()).toContain('QR code, approved by “Laptop CLI”')
    expect(await page.textContent('#events')).toContain('“Kitchen tablet” signed in with a QR code, approved by “Laptop CLI”.')

    await page
      .locator('li.device', { hasText: 'Laptop CLI' })
      .getByRole('button', { name: /Sign out… Laptop CLI/ })
      .click()
    expect(await page.textContent('h1')).toBe('Sign out Laptop CLI?')
    await page.fill('#confirm-password', 'not my password')
    await page.press('#confirm-password', 'Enter')
    expect(await page.textContent('.error')).toBe('That password is wrong.')
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, cli.access_token)).status).toBe(200)
    await page.fill('#confirm-password', PASSWORD)
    await page.press('#confirm-password', 'Enter')
    expect(await page.textContent('.done')).toBe('Laptop CLI is signed out.')
    expect(await page.locator('li.device', { hasText: 'Laptop CLI' }).count()).toBe(0)
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, cli.access_token)).status).toBe(401)
    await ctx.close()
  })

  it('"not me" from one browser signs the other browser out, after a confirmation', async () => {
    const mine = await context()
    const theirs = await context()
    const page = await signInToAccount(mine, 'dave')
    const other = await signInToAccount(theirs, 'dave')
    const otherId = await deviceOf(theirs)
    await page.reload()
    await page.locator(`li.device:has(input[name="device_id"][value="${otherId}"]) button.danger`).click()
    expect(await page.textContent('h1')).toBe('You do not recognise Web browser?')
    // Recently signed in: no step-up, the confirmation alone.
    expect(await page.locator('#confirm-password').count()).toBe(0)
    await page.click('button[type="submit"].danger')
    expect(await page.textContent('.done')).toContain('Web browser is signed out. Devices signed out: 1.')
    expect(await page.textContent('#events')).toContain('was reported "not me" and signed out.')
    await other.reload()
    expect(new URL(other.url()).pathname).toBe('/signin')
    await mine.close()
    await theirs.close()
  })

  it('enrols TOTP from the page (key, QR image, a real code), shows recovery codes once with a download, regenerates them', async () => {
    const ctx = await context()
    const page = await signInToAccount(ctx, 'erik')
    expect(await page.textContent('#twofactor-h + p')).toContain('Off')
    await page.click('text=Set up two-step verification')
    await page.fill('#confirm-password', PASSWORD)
    await page.press('#confirm-password', 'Enter')
    await page.waitForSelector('img.qr')
    expect(await page.getAttribute('img.qr', 'src')).toMatch(/^data:image\/svg\+xml;base64,/)
    const key = ((await page.textContent('code.key')) ?? '').replace(/\s/g, '')
    const seed = totpSecretFromBase32(key)
    if (!seed.ok) throw new Error('bad key on the page')
    const bytes = seed.value.bytes()
    await page.fill('#code', '000000')
    await page.press('#code', 'Enter')
    expect(await page.textContent('.error')).toBe('That code is wrong or was already used.')
    await page.fill('#code', generateTotp(bytes, Date.now()))
    await page.press('#code', 'Enter')
    const codes = await page.locator('#recovery-codes code').allTextContents()
    expect(codes).toHaveLength(10)
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Download the codes')])
    expect(download.suggestedFilename()).toBe('qrelay-recovery-codes.txt')
    expect(
      readFileSync((await download.path()) ?? '', 'utf8')
        .trim()
        .split('\n'),
    ).toEqual(codes)

    await page.click('text=Back to your account')
    expect(await page.textContent('#twofactor-h + p')).toContain('On')
    expect(await page.textContent('#events')).toContain('Two-step verification was turned on.')
    await page.click('text=Make new recovery codes')
    await page.fill('#confirm-password', PASSWORD)
    await page.fill('#confirm-totp', generateTotp(bytes, Date.now() + 30_000))
    await page.press('#confirm-password', 'Enter')
    const fresh = await page.locator('#recovery-codes code').allTextContents()
    expect(fresh).toHaveLength(10)
    expect(fresh.some((code) => codes.includes(code))).toBe(false)

    // The password change: "sign out my other devices" is checked by default; a second factor is needed.
    const cli = await login(send, 'erik', PASSWORD, { type: 'm.login.2fa.recovery', code: fresh[0] ?? '' }, 'Old laptop')
    await page.click('text=Back to your account')
    expect(await page.isChecked('input[name="logout_devices"]')).toBe(true)
    await page.fill('#pw-password', PASSWORD)
    await page.fill('#new_password', NEW_PASSWORD)
    await page.fill('#pw-recovery', fresh[1] ?? '')
    await page.click('button:has-text("Change password")')
    expect(await page.textContent('.done')).toBe('Your password is changed. Devices signed out: 1.')
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, cli.access_token)).status).toBe(401)

    // Sign out, then in again with the new password and a recovery code (this test spent the TOTP steps it may use).
    await page.click('header + main button:has-text("Sign out")')
    expect(await page.textContent('main')).toContain('You are signed out on this browser.')
    await page.close()
    await signInToAccount(ctx, 'erik', NEW_PASSWORD, fresh[2])
    await ctx.close()
  }, 120_000)

  it('with JavaScript, the security-event feed updates by itself', async () => {
    const ctx = await browser.newContext({ locale: 'en-US' })
    const page = await ctx.newPage()
    const problems: string[] = []
    page.on('console', (m) => {
      if (/content security policy/i.test(m.text())) problems.push(m.text())
    })
    page.on('pageerror', (e) => problems.push(String(e)))
    await signInToPages(page, server.url, 'ivy')
    // The page's own sign-in is the feed's first event (finding 40).
    expect(await page.textContent('#events')).toContain('“Web browser” signed in with the account password.')
    let loads = 0
    page.on('load', () => loads++)
    // Another device changes the password over the API, keeping the other devices signed in.
    const other = await login(send, 'ivy', PASSWORD, undefined, 'Script')
    const changed = await withUia(
      send,
      'POST',
      '/v1/account/password',
      { new_password: NEW_PASSWORD, logout_devices: false },
      PASSWORD,
      undefined,
      other.access_token,
    )
    expect(changed.final.status).toBe(200)
    await page.waitForFunction(() => document.getElementById('events')?.textContent?.includes('The password was changed.'), undefined, {
      timeout: 30_000,
    })
    expect(await page.locator('#events-none').count()).toBe(0)
    expect(loads).toBe(0)
    expect(problems).toEqual([])
    await ctx.close()
  }, 90_000)

  it('speaks German', async () => {
    const ctx = await context('de-DE')
    const page = await signInToAccount(ctx, 'carol')
    expect(await page.textContent('h1')).toBe('Ihr Konto')
    expect(await page.textContent('#devices-h')).toBe('Ihre Geräte')
    expect(await page.textContent('li.device.current')).toContain('Dieses Gerät')
    await ctx.close()
  })
})
