/**
 * The pages on the Worker inside workerd (src/runtime/workers.ts): /login, /device and /account render
 * with a per-request CSP nonce; /login's page script, read through the `[assets]` binding
 * (wrangler.toml; built by test/workers/setup-assets.ts), is served under its content-hashed path
 * with the nonce on its tag; the style sheet is served too. /account, signed in through /signin.
 * The catalogs, the style sheet and the feed script come from the assets too (page-content.json):
 * each must be exactly what the sources hold.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { call, type Send } from '../helpers/account-client.ts'
import { FEED_SCRIPT } from '../../src/http/pages/feed-script.ts'
import { de } from '../../src/http/pages/i18n/de.ts'
import { en } from '../../src/http/pages/i18n/en.ts'
import { STYLE_CSS } from '../../src/http/pages/style.ts'

const ORIGIN = 'https://relay.example'
const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'
const PASSWORD = 'correct horse battery staple'
const IP = '203.0.113.77'

const get = (path: string, headers: Record<string, string> = {}) =>
  SELF.fetch(`${ORIGIN}${path}`, { headers: { 'cf-connecting-ip': IP, ...headers } })

/** The nonce of the CSP header, checked against every script tag of the page. */
const nonceChecked = async (res: Response): Promise<{ nonce: string; html: string }> => {
  expect(res.status).toBe(200)
  const csp = res.headers.get('content-security-policy') ?? ''
  const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1] ?? ''
  expect(nonce.length).toBeGreaterThanOrEqual(16)
  const html = await res.text()
  for (const tag of html.match(/<script[^>]*>/g) ?? []) expect(tag).toContain(`nonce="${nonce}"`)
  return { nonce, html }
}

describe('workers: pages', () => {
  it('renders /login with a nonce, and serves its script from the assets binding under the hashed path', async () => {
    const first = await nonceChecked(await get('/login'))
    const second = await nonceChecked(await get('/login'))
    expect(second.nonce).not.toBe(first.nonce)
    const src = /<script type="module"[^>]*src="(\/assets\/pages\.[A-Za-z0-9_-]{16}\.js)"/.exec(first.html)?.[1]
    expect(src, first.html).toBeDefined()
    const script = await get(src ?? '')
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toContain('javascript')
    expect(script.headers.get('cache-control')).toContain('immutable')
    expect((await script.text()).length).toBeGreaterThan(10_000)
    const css = /href="(\/assets\/style\.[A-Za-z0-9_-]{16}\.css)"/.exec(first.html)?.[1] ?? ''
    const sheet = await get(css)
    expect(sheet.status).toBe(200)
    expect(sheet.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(sheet.headers.get('cache-control')).toContain('immutable')
    expect(await sheet.text()).toBe(STYLE_CSS)
  })

  it('renders the pages in both languages from the catalogs in the assets', async () => {
    const german = await nonceChecked(await get('/device?lang=de'))
    expect(german.html).toContain('<html lang="de">')
    expect(german.html).toContain(de.deviceTitle)
    const english = await nonceChecked(await get('/device', { 'accept-language': 'en-GB' }))
    expect(english.html).toContain(en.deviceTitle)
    expect(english.html).not.toContain(de.deviceTitle)
  })

  it('renders /device with a nonce', async () => {
    const { html } = await nonceChecked(await get('/device'))
    expect(html).toContain('name="user_code"')
  })

  it('renders /account with a nonce for a browser signed in through /signin', async () => {
    const send: Send = (path, init) =>
      SELF.fetch(`${ORIGIN}${path}`, { ...init, headers: { 'cf-connecting-ip': IP, ...(init.headers as Record<string, string>) } })
    const username = `page${Date.now().toString(36)}`
    expect((await call(send, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const signin = await SELF.fetch(`${ORIGIN}/signin`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'cf-connecting-ip': IP, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username, password: PASSWORD, next: '/account' }).toString(),
    })
    expect(signin.status).toBe(303)
    const cookie = signin.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; ')
    const { html, nonce } = await nonceChecked(await get('/account', { cookie }))
    expect(html).toContain(username)
    // The live feed's script, from the assets, under its content-hashed path.
    const feed = /<script type="module" src="(\/assets\/feed\.[A-Za-z0-9_-]{16}\.js)" nonce="([^"]+)"/.exec(html)
    expect(feed?.[2]).toBe(nonce)
    const script = await get(feed?.[1] ?? '')
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await script.text()).toBe(FEED_SCRIPT)
  })
})
