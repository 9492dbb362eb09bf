/**
 * The pages (`/device`, `/signin`, `/account`…) through app.request() with the fake clock: what the
 * API refuses stays refused from a page form (a session in QR quarantine approves, declines and looks
 * up nothing); the page cookies take their attributes from the configured public origin, never from
 * the request's `Host`; a form body that cannot be read is a 4xx that changes nothing.
 */
import { describe, expect, it } from 'vitest'
import { call, login, viaApp } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { capturingLogger } from '../integration/secrets/never-logged-scenario.ts'
import { bindingOf, pollToken, requestGrant } from '../helpers/qr-login.ts'

const ORIGIN = 'https://relay.example'
const PASSWORD = 'correct horse battery staple'
const ENV = { QRELAY_ARGON2_MEMORY_KIB: '64', QRELAY_ARGON2_ITERATIONS: '1', QRELAY_APPROVER_MIN_AGE_SECONDS: '0' }

/** A page request with `cookie`, a form POST from this origin when `fields` is given. */
const page = (t: TestApp, cookie: string, path: string, fields?: Record<string, string>, base = ORIGIN) =>
  t.app.request(
    `${base}${path}`,
    fields === undefined
      ? { headers: { cookie } }
      : {
          method: 'POST',
          headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields).toString(),
        },
  )

/** An account with a password page session, a QR-minted page session still in quarantine, and a pending login. */
const setup = async () => {
  const t = makeApp({ env: ENV })
  const account = await t.auth.accounts.create('dora', PASSWORD)
  const qr = await t.auth.sessions.mint(account, { displayName: 'QR', origin: 'qr', quarantineUntilMs: t.clock.now() + 3_600_000 })
  const owner = await t.auth.sessions.mint(account, { displayName: 'Web browser', origin: 'password' })
  const send = viaApp(t.app)
  const holder = await dpopHolder()
  const grant = await requestGrant(send, holder, t.clock.now(), { channel_binding: bindingOf('q'), device_name: 'TV' })
  const pending = async () => (await pollToken(send, holder, t.clock.now(), grant.codes.device_code)).body.error
  return {
    t,
    userCode: grant.codes.user_code,
    quarantined: `__Host-qrelay-page=${qr.accessToken}`,
    owner: `__Host-qrelay-page=${owner.accessToken}`,
    pending,
  }
}

describe('finding 30: pages: a session in QR quarantine approves and declines nothing', () => {
  it('finding 30: the consent page and Decline are refused to it as /v1/approvals is, and the login stays pending', async () => {
    const { t, userCode, quarantined, owner, pending } = await setup()
    const api = await t.app.request(`${ORIGIN}/approve/api/${userCode}`, { headers: { cookie: quarantined } })
    expect(api.status).toBe(403)
    const consent = await page(t, quarantined, `/device?user_code=${userCode}`)
    expect(consent.status).toBe(403)
    const html = await consent.text()
    expect(html).toContain('cannot do this yet')
    expect(html).not.toContain('value="decline"')
    for (const decision of ['decline', 'approve']) {
      const refused = await page(t, quarantined, '/device/decide', { user_code: userCode, decision })
      expect(refused.status).toBe(403)
      expect(await refused.text()).toContain('cannot do this yet')
    }
    const typed = await page(t, quarantined, '/device', { user_code: userCode })
    expect(typed.status).toBe(403)
    // Nothing was burnt: the new device still waits, and the owner's own session still sees the request.
    expect(await pending()).toBe('authorization_pending')
    expect(await (await page(t, owner, `/device?user_code=${userCode}`)).text()).toContain('value="decline"')
  })

  it("finding 30: cannot spend the account's user-code look-ups and so lock the owner out of approving", async () => {
    const { t, userCode, quarantined } = await setup()
    // The account's budget is 10 look-ups per 5 minutes (QRELAY_RATE_USER_CODE_PER_ACCOUNT).
    for (let i = 0; i < 12; i++) await page(t, quarantined, '/device?user_code=BCDF-GHJK-LM')
    const send = viaApp(t.app)
    const tokens = await login(send, 'dora', PASSWORD, undefined, 'Phone')
    const context = await call(send, 'GET', `/v1/approvals/${userCode}`, undefined, tokens.access_token as string)
    expect(context.status).toBe(200)
  })
})

describe("finding 31: pages: the cookies' attributes come from the public origin, never from the request's Host", () => {
  // A reverse proxy that passes its upstream's name (nginx's default `Host: $proxy_host`) makes every
  // request look like plain http on loopback, the one case that drops `Secure` and the `__Host-` prefix.
  const LOOPBACK = 'http://127.0.0.1:8080'

  it('finding 31: sets __Host- cookies with Secure on a sign-in whose Host is loopback', async () => {
    const t = makeApp({ env: ENV })
    await t.auth.accounts.create('dora', PASSWORD)
    const res = await page(t, '', '/signin', { username: 'dora', password: PASSWORD, next: '/account' }, LOOPBACK)
    expect(res.status).toBe(303)
    const lines = res.headers.getSetCookie()
    expect(lines).toHaveLength(3)
    for (const line of lines) {
      expect(line).toMatch(/^__Host-qrelay-page(-refresh|-trust)?=/)
      expect(line).toContain('Secure')
    }
  })

  it('finding 31: reads no unprefixed cookie (one a sibling subdomain could plant) whatever the Host', async () => {
    const t = makeApp({ env: ENV })
    const account = await t.auth.accounts.create('dora', PASSWORD)
    const planted = await t.auth.sessions.mint(account, { displayName: 'Web browser', origin: 'password' })
    const res = await page(t, `qrelay-page=${planted.accessToken}`, '/account', undefined, LOOPBACK)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/signin?next=%2Faccount')
    const own = await page(t, `__Host-qrelay-page=${planted.accessToken}`, '/account', undefined, LOOPBACK)
    expect(own.status).toBe(200)
  })
})

describe('finding 35: pages: a form body that cannot be read', () => {
  const FORMS = [
    '/device',
    '/device/decide',
    '/signin',
    '/account/devices/sign-out',
    '/account/devices/not-me',
    '/account/totp/begin',
    '/account/totp/confirm',
    '/account/totp/disable',
    '/account/recovery-codes',
    '/account/password',
  ]
  const BROKEN: [string, string][] = [
    ['multipart/form-data', 'user_code=x'],
    ['multipart/form-data; boundary=zz', '--zz\r\nContent-Disposition: form-data; name="decision"\r\n\r\ndecline'],
  ]

  it('finding 35: is a 400 JSON error on every page form, signed in or not, and changes nothing', async () => {
    const { t, owner, pending } = await setup()
    // Without a session an /account form is not read: the answer is the way to the sign-in page.
    for (const cookie of ['', owner]) {
      for (const path of cookie === '' ? FORMS.filter((p) => !p.startsWith('/account/')) : FORMS) {
        for (const [type, body] of BROKEN) {
          const res = await t.app.request(`${ORIGIN}${path}`, {
            method: 'POST',
            headers: { cookie, origin: ORIGIN, 'content-type': type },
            body,
          })
          expect({ path, type, status: res.status }).toEqual({ path, type, status: 400 })
          expect(await res.json()).toMatchObject({ qrelay_code: 'INVALID_PARAM' })
        }
      }
    }
    expect(await pending()).toBe('authorization_pending')
  })
})

describe('pages: what already held, pinned', () => {
  const HOSTILE = '<img src=x onerror=alert(1)>"\'</script>'

  it('every page state carries the page headers: no framing, no referrer, no caching, a nonce-only script policy', async () => {
    const { t, owner, userCode } = await setup()
    const answers = [
      ...(await Promise.all(
        ['/device', '/approve', '/signin', '/login', '/link', '/device?user_code=nope'].map((path) => page(t, '', path)),
      )),
      ...(await Promise.all(['/account', '/account/show-qr', `/device?user_code=${userCode}`].map((path) => page(t, owner, path)))),
      await page(t, '', '/signin', { username: 'dora', password: 'wrong password here' }),
      await page(t, owner, '/account/password', { password: 'wrong', new_password: 'another long passphrase 42' }),
      await t.app.request(`${ORIGIN}/signin`, { method: 'POST', headers: { origin: 'https://evil.example' }, body: '' }),
    ]
    for (const res of answers) {
      expect(res.headers.get('content-type')).toContain('text/html')
      const csp = res.headers.get('content-security-policy') ?? ''
      expect(csp).toContain("frame-ancestors 'none'")
      expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9_-]{22}'(;|$)/)
      expect(csp).toContain("form-action 'self'")
      expect(csp).toContain("base-uri 'none'")
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    }
  })

  it('refuses every page POST that does not prove it came from this origin, and changes nothing', async () => {
    const { t, owner } = await setup()
    const account = await t.auth.accounts.findByUsername('dora')
    if (account === null) throw new Error('no account')
    const other = await t.auth.sessions.mint(account, { displayName: 'Old phone', origin: 'password' })
    const proofs: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'https://sub.relay.example' },
      { origin: 'http://relay.example' },
      { origin: 'null', 'sec-fetch-site': 'cross-site' },
      { origin: 'null', 'sec-fetch-site': 'same-site' },
      { origin: 'null' },
      {},
      { 'sec-fetch-site': 'same-site' },
    ]
    for (const headers of proofs) {
      const post = (path: string, fields: Record<string, string>) =>
        t.app.request(`${ORIGIN}${path}`, {
          method: 'POST',
          headers: { cookie: owner, 'content-type': 'application/x-www-form-urlencoded', ...headers },
          body: new URLSearchParams(fields).toString(),
        })
      const signin = await post('/signin', { username: 'dora', password: PASSWORD })
      expect(signin.status).toBe(403)
      expect(signin.headers.getSetCookie()).toEqual([])
      expect((await post('/account/devices/not-me', { device_id: other.deviceId, confirm: '1', password: PASSWORD })).status).toBe(403)
      expect((await post('/signout', {})).status).toBe(403)
    }
    const devices = (await t.auth.sessions.listDevices(account.id)).map((d) => d.id)
    expect(devices).toContain(other.deviceId)
    expect(await (await page(t, owner, '/account')).text()).toContain('Signed in as dora.')
  })

  it('sends a signed-in person only to /account or /approve, whatever next says', async () => {
    const t = makeApp({ env: ENV })
    await t.auth.accounts.create('dora', PASSWORD)
    for (const next of ['https://evil.example/', '//evil.example', '/\\evil.example', '/account@evil.example', 'javascript:alert(1)']) {
      const res = await page(t, '', '/signin', { username: 'dora', password: PASSWORD, next })
      expect(res.status).toBe(303)
      expect(res.headers.get('location')).toBe('/device')
    }
    const form = await (await page(t, '', '/signin?next=//evil.example')).text()
    expect(form).not.toContain('evil.example')
  })

  it('shows a name chosen by another device as text, on the consent screen and in the device list', async () => {
    const t = makeApp({ env: ENV })
    const account = await t.auth.accounts.create('dora', PASSWORD)
    const owner = await t.auth.sessions.mint(account, { displayName: 'Web browser', origin: 'password' })
    await t.auth.sessions.mint(account, { displayName: HOSTILE, origin: 'password' })
    const send = viaApp(t.app)
    const holder = await dpopHolder()
    const grant = await requestGrant(send, holder, t.clock.now(), { channel_binding: bindingOf('x'), device_name: HOSTILE })
    expect(grant.status).toBe(200)
    const cookie = `__Host-qrelay-page=${owner.accessToken}`
    for (const path of [`/device?user_code=${grant.codes.user_code}`, '/account']) {
      const html = await (await page(t, cookie, path)).text()
      expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;')
      expect(html).not.toContain('<img src=x')
      expect(html).not.toContain('</script>"')
    }
  })

  it('writes no user code, password or page token into any log line', async () => {
    const lines: string[] = []
    const t = makeApp({ env: { ...ENV, QRELAY_LOG_LEVEL: 'debug' }, logger: capturingLogger(lines) })
    await t.auth.accounts.create('dora', PASSWORD)
    const holder = await dpopHolder()
    const grant = await requestGrant(viaApp(t.app), holder, t.clock.now(), { channel_binding: bindingOf('l') })
    const code = grant.codes.user_code
    const signin = await page(t, '', '/signin', { username: 'dora', password: PASSWORD, user_code: code })
    const jar = signin.headers.getSetCookie().map((line) => line.split(';')[0] ?? '')
    const cookie = jar.join('; ')
    await page(t, cookie, `/device?user_code=${code}`)
    await page(t, cookie, `/approve?user_code=${code.toLowerCase()}`)
    await page(t, cookie, `/approve/api/${code}`)
    await page(t, cookie, '/device/decide', { user_code: code, decision: 'approve' })
    await page(t, cookie, '/signout', {})
    expect(lines.length).toBeGreaterThan(5)
    const secrets = [code, code.replace(/-/g, ''), PASSWORD, ...jar.map((pair) => pair.slice(pair.indexOf('=') + 1))]
    for (const secret of secrets) for (const line of lines) expect(line).not.toContain(secret)
  })
})

describe('finding 32: pages: /link runs only when the person opened it', () => {
  // `/link#…` signs this browser in to whoever showed the QR code, and the check code is typed on
  // *their* device: followed from another site, it would sign a visitor in to a stranger's account
  // without a click (and replace the visitor's own page session).
  const SCRIPT = 'export {}'
  const linkPage = async (headers: Record<string, string>) => {
    const t = makeApp({ env: ENV, host: { pageScript: async () => SCRIPT } })
    return (await t.app.request(`${ORIGIN}/link`, { headers })).text()
  }

  it('finding 32: serves no script to a navigation from another site, and says why', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const html = await linkPage({ 'sec-fetch-site': site, 'sec-fetch-mode': 'navigate' })
      expect(html).not.toContain('<script')
      expect(html).toContain('opened from another website')
    }
  })

  it('finding 32: runs when scanned, typed or opened from this origin (or by a browser without Fetch Metadata)', async () => {
    const cases: Record<string, string>[] = [{ 'sec-fetch-site': 'none' }, { 'sec-fetch-site': 'same-origin' }, {}]
    for (const headers of cases) {
      const html = await linkPage(headers)
      expect(html).toContain('<script type="module"')
      expect(html).not.toContain('opened from another website')
    }
  })
})

describe('finding 33: pages: a browser that signed in before keeps a guess budget of its own', () => {
  const signin = (t: TestApp, peer: string, password: string, cookie = '') =>
    t.app.request(`${ORIGIN}/signin`, {
      method: 'POST',
      headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded', 'x-test-peer': peer },
      body: new URLSearchParams({ username: 'dora', password }).toString(),
    })

  it('finding 33: signs the owner in from a new network while strangers have spent the untrusted ceiling', async () => {
    const t = makeApp({ env: ENV })
    await t.auth.accounts.create('dora', PASSWORD)
    const first = await signin(t, '198.51.100.20', PASSWORD)
    expect(first.status).toBe(303)
    const trust = first.headers.getSetCookie().find((line) => line.startsWith('__Host-qrelay-page-trust=')) ?? ''
    for (const part of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) expect(trust).toContain(part)
    // Strangers anywhere spend the account's ceiling for clients it does not know (10 per 15 minutes).
    for (let i = 0; i < 12; i++) await signin(t, `203.0.113.${i + 1}`, `wrong guess ${i}`)
    expect((await signin(t, '192.0.2.77', PASSWORD)).status).toBe(429)
    // The owner's browser, on a network no device of the account was seen on, with its token.
    const owner = await signin(t, '192.0.2.88', PASSWORD, trust.split(';')[0] ?? '')
    expect(owner.status).toBe(303)
    expect(owner.headers.getSetCookie().some((line) => line.startsWith('__Host-qrelay-page-trust='))).toBe(true)
  })
})

describe("finding 34: pages: a sibling subdomain's requests spend nothing of the owner's", () => {
  // SameSite=Strict keeps the cookies off cross-site requests only: a page on a sibling subdomain is
  // the same site, so its `<img>` or no-cors fetch carries them (`Sec-Fetch-Site: same-site`).
  it("finding 34: cannot spend the account's user-code look-ups through the page session", async () => {
    const { t, userCode, owner } = await setup()
    const sibling = { cookie: owner, 'sec-fetch-site': 'same-site' }
    for (let i = 0; i < 6; i++) {
      await t.app.request(`${ORIGIN}/device?user_code=BCDF-GHJK-LM`, { headers: sibling })
      const api = await t.app.request(`${ORIGIN}/approve/api/BCDFGHJKLM`, { headers: sibling })
      expect(api.status).toBe(403)
    }
    // A code opened from a sibling is only put in the form: looking it up takes this origin's own POST.
    const opened = await t.app.request(`${ORIGIN}/device?user_code=${userCode}`, { headers: sibling })
    expect(opened.status).toBe(200)
    const html = await opened.text()
    expect(html).not.toContain('value="decline"')
    expect(html).toContain(`value="${userCode}"`)
    const send = viaApp(t.app)
    const tokens = await login(send, 'dora', PASSWORD, undefined, 'Phone')
    expect((await call(send, 'GET', `/v1/approvals/${userCode}`, undefined, tokens.access_token as string)).status).toBe(200)
  })
})
