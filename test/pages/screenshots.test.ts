/**
 * Writes the screenshots of docs/screenshots/ (light, dark, a 390 px phone) when
 * `QRELAY_SCREENSHOTS=1`; otherwise skipped. Run: `QRELAY_SCREENSHOTS=1 npx vitest run --project pages test/pages/screenshots.test.ts`.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContextOptions } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, login, viaFetch } from '../helpers/account-client.ts'
import { type SpawnedServer, spawnServer } from '../helpers/spawn-server.ts'
import { browserAvailable, launchChromium } from './browser.ts'
import { signInToPages } from './pages-server.ts'

const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'
const PASSWORD = 'correct horse battery staple'
const OUT = 'docs/screenshots'

describe.skipIf(!browserAvailable || process.env.QRELAY_SCREENSHOTS !== '1')('screenshots for docs/screenshots', () => {
  let server: SpawnedServer
  let browser: Browser
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-shots-'))

  beforeAll(async () => {
    server = await spawnServer({ QRELAY_DATA_DIR: dataDir, QRELAY_ADMIN_TOKEN: ADMIN_TOKEN })
    const send = viaFetch(server.url)
    expect((await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    await login(send, 'alice', PASSWORD, undefined, 'Laptop')
    browser = await launchChromium()
    mkdirSync(OUT, { recursive: true })
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  const VARIANTS: Array<[string, BrowserContextOptions]> = [
    ['light', { viewport: { width: 900, height: 900 }, colorScheme: 'light' }],
    ['dark', { viewport: { width: 900, height: 900 }, colorScheme: 'dark' }],
    ['phone', { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, colorScheme: 'light' }],
  ]

  it('takes the main states', async () => {
    for (const [variant, options] of VARIANTS) {
      const ctx = await browser.newContext(options)
      const page = await ctx.newPage()
      await page.goto(`${server.url}/device`)
      await page.screenshot({ path: `${OUT}/device-${variant}.png`, fullPage: true })
      await page.goto(`${server.url}/login`)
      await page.waitForSelector('#qr:not([hidden])')
      await page.screenshot({ path: `${OUT}/login-${variant}.png`, fullPage: true })
      await signInToPages(page, server.url, 'alice')
      await page.screenshot({ path: `${OUT}/account-${variant}.png`, fullPage: true })
      await ctx.close()
    }
  }, 180_000)
})
