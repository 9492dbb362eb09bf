/**
 * The page session and `/account` through `app.request()` with the fake clock: renewal by the refresh
 * cookie when the access token expired, sign-out, the quarantine banner of a QR-signed-in session,
 * and the guards (no session → sign-in, foreign origin → 403, no store access needed by a test).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { viaApp } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { bindingOf, pollToken, requestGrant } from '../helpers/qr-login.ts'

const ORIGIN = 'https://relay.example'
const PASSWORD = 'correct horse battery staple'

/** The cookies a response sets, as `name=value` (an empty value removes one). */
const setCookies = (res: Response): Map<string, string> => {
  const out = new Map<string, string>()
  for (const line of res.headers.getSetCookie()) {
    const [pair = ''] = line.split(';')
    const at = pair.indexOf('=')
    out.set(pair.slice(0, at), pair.slice(at + 1))
  }
  return out
}

/** A browser's cookie jar over `app.request()`. */
const browser = (t: TestApp) => {
  const jar = new Map<string, string>()
  const send = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>) }
    if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await t.app.request(`${ORIGIN}${path}`, { ...init, headers })
    for (const [k, v] of setCookies(res)) {
      if (v === '') jar.delete(k)
      else jar.set(k, v)
    }
    return res
  }
  const post = (path: string, fields: Record<string, string>) =>
    send(path, {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    })
  return { jar, send, post }
}

describe('the page session and /account in process', () => {
  let t: TestApp
  beforeEach(async () => {
    t = makeApp({ env: { QRELAY_ARGON2_MEMORY_KIB: '64', QRELAY_ARGON2_ITERATIONS: '1', QRELAY_APPROVER_MIN_AGE_SECONDS: '0' } })
    await t.auth.accounts.create('dora', PASSWORD)
  })

  const signIn = async () => {
    const b = browser(t)
    const res = await b.post('/signin', { username: 'dora', password: PASSWORD, next: '/account' })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/account')
    expect([...b.jar.keys()].sort()).toEqual(['__Host-qrelay-page', '__Host-qrelay-page-refresh', '__Host-qrelay-page-trust'])
    return b
  }

  it('creates the /account/show-qr channel for the page session, where only signed-in devices may create', async () => {
    t = makeApp({ env: { QRELAY_ARGON2_MEMORY_KIB: '64', QRELAY_ARGON2_ITERATIONS: '1', QRELAY_INITIATION_REQUIRE_AUTH: 'true' } })
    await t.auth.accounts.create('dora', PASSWORD)
    const json = { 'content-type': 'application/json' }
    // The API's create asks for a token, and the page endpoint for the page session.
    expect((await t.app.request(`${ORIGIN}/v1/rendezvous`, { method: 'POST', headers: json, body: '{"data":""}' })).status).toBe(401)
    const anonymous = await browser(t).send('/account/api/rendezvous', {
      method: 'POST',
      headers: { ...json, origin: ORIGIN },
      body: '{"data":""}',
    })
    expect(anonymous.status).toBe(401)
    const b = await signIn()
    // Another origin's page carries the cookie too: refused.
    const foreign = await b.send('/account/api/rendezvous', {
      method: 'POST',
      headers: { ...json, origin: 'https://evil.example' },
      body: '{"data":""}',
    })
    expect(foreign.status).toBe(403)
    const created = await b.send('/account/api/rendezvous', { method: 'POST', headers: { ...json, origin: ORIGIN }, body: '{"data":""}' })
    expect(created.status).toBe(200)
    const body = (await created.json()) as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(['creator_secret', 'expires_in_ms', 'id', 'sequence_token'])
    // The channel is an ordinary native channel: its creator reads it with the secret.
    const read = await t.app.request(`${ORIGIN}/v1/rendezvous/${body.id as string}`, {
      headers: { authorization: `Bearer ${body.creator_secret as string}` },
    })
    expect(read.status).toBe(200)
    // Bad input changes nothing: a body that is not the create's is a 400.
    expect(
      (await b.send('/account/api/rendezvous', { method: 'POST', headers: { ...json, origin: ORIGIN }, body: '{"data":1}' })).status,
    ).toBe(400)
  })

  it('finding 40: a page sign-in is in the account feed, in words, and told to the other sinks (the webhook)', async () => {
    const b = await signIn()
    const account = await t.auth.accounts.findByUsername('dora')
    const feed = await b.send('/account/events?since=0')
    expect(feed.status).toBe(200)
    const { events } = (await feed.json()) as { events: Array<{ text: string }> }
    expect(events.map((e) => e.text)).toEqual(['“Web browser” signed in with the account password.'])
    expect(t.events.list(account!.id)).toEqual([
      expect.objectContaining({ type: 'device_signed_in', details: { origin: 'password', device_name: 'Web browser' } }),
    ])
  })

  it('sends a visitor without a session to the sign-in page, coming back to /account', async () => {
    const res = await browser(t).send('/account')
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/signin?next=%2Faccount')
  })

  it('sends a person who opens the server address to the account page (and so to the sign-in)', async () => {
    const b = browser(t)
    const root = await b.send('/', { headers: { 'sec-fetch-dest': 'document', accept: 'text/html' } })
    expect(root.status).toBe(303)
    expect(root.headers.get('location')).toBe('/account')
    const account = await b.send(root.headers.get('location')!)
    expect(account.headers.get('location')).toBe('/signin?next=%2Faccount')
    // An API client keeps the JSON answer of an unknown path.
    expect(await (await b.send('/', { headers: { accept: 'application/json' } })).json()).toMatchObject({ errcode: 'M_UNRECOGNIZED' })
  })

  it('answers a browser opening an unknown address with a page, and an API client with the JSON error', async () => {
    const b = browser(t)
    const navigation = { 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate', accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }
    const page = await b.send('/acount/<script>x</script>', { headers: navigation })
    expect(page.status).toBe(404)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'")
    const html = await page.text()
    expect(html).toContain('Page not found')
    expect(html).toContain('href="/account"')
    expect(html).not.toContain('<script>x')
    expect(html).not.toContain('acount')
    // A path that reads as another site in a link (`//host`) is never written into the page.
    const elsewhere = await (await b.send('//evil.example/x', { headers: navigation })).text()
    expect(elsewhere).toContain('Page not found')
    expect(elsewhere).not.toContain('evil.example')
    // A browser without Fetch Metadata, asking for HTML first.
    expect((await b.send('/nowhere', { headers: { accept: 'text/html' } })).headers.get('content-type')).toMatch(/^text\/html/)
    // In German, as the other pages.
    expect(await (await b.send('/nowhere', { headers: { ...navigation, 'accept-language': 'de' } })).text()).toContain(
      'Seite nicht gefunden',
    )
    // API clients, a script's fetch, and anything but a GET keep the JSON error.
    const apiHeaders: Record<string, string>[] = [{}, { accept: 'application/json' }, { 'sec-fetch-dest': 'empty', accept: 'text/html' }]
    for (const headers of apiHeaders) {
      const res = await b.send('/nowhere', { headers })
      expect(res.status).toBe(404)
      expect(await res.json()).toMatchObject({ errcode: 'M_UNRECOGNIZED' })
    }
    expect((await b.send('/nowhere', { method: 'POST', headers: navigation })).headers.get('content-type')).toMatch(/json/)
    // The API's namespaces answer JSON whoever asks, a browser's navigation included.
    for (const path of ['/v1/nowhere', '/_matrix/client/nowhere', '/oauth2/nowhere', '/.well-known/nowhere']) {
      expect(await (await b.send(path, { headers: navigation })).json()).toMatchObject({ errcode: 'M_UNRECOGNIZED' })
    }
  })

  it('sets the session, refresh and device-trust cookies HttpOnly, Secure, SameSite=Strict under the __Host- prefix', async () => {
    const res = await browser(t).post('/signin', { username: 'dora', password: PASSWORD })
    const lines = res.headers.getSetCookie()
    expect(lines).toHaveLength(3)
    for (const line of lines) {
      expect(line).toMatch(/^__Host-qrelay-page(-refresh|-trust)?=/)
      for (const part of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) expect(line).toContain(part)
      expect(line).not.toContain('Domain')
    }
  })

  it('renews an expired access token with the refresh cookie, once, and keeps the person signed in', async () => {
    const b = await signIn()
    const before = b.jar.get('__Host-qrelay-page')
    t.clock.advance((t.config.auth.accessTokenTtlSeconds + 5) * 1000)
    const res = await b.send('/account')
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('Signed in as dora.')
    expect(b.jar.get('__Host-qrelay-page')).not.toBe(before)
    // The renewed token works without another refresh.
    const again = await b.send('/account')
    expect(again.status).toBe(200)
    expect(again.headers.getSetCookie()).toEqual([])
  })

  it('signs out: the device is gone, both cookies are cleared, /account asks to sign in', async () => {
    const b = await signIn()
    const token = b.jar.get('__Host-qrelay-page') ?? ''
    const res = await b.post('/signout', {})
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('You are signed out on this browser.')
    // Only the device-trust token stays: it grants nothing but a guess budget of this browser's own.
    expect([...b.jar.keys()]).toEqual(['__Host-qrelay-page-trust'])
    await expect(t.auth.sessions.authenticate(token)).rejects.toThrow()
    expect((await b.send('/account')).status).toBe(303)
  })

  it('a signed-out session with a refresh cookie is not renewed', async () => {
    const b = await signIn()
    const devices = await t.auth.sessions.listDevices((await t.auth.accounts.findByUsername('dora'))?.id ?? '')
    await t.auth.sessions.logout(devices[0]?.accountId ?? '', devices[0]?.id ?? '')
    t.clock.advance((t.config.auth.accessTokenTtlSeconds + 5) * 1000)
    expect((await b.send('/account')).status).toBe(303)
    expect([...b.jar.keys()]).toEqual(['__Host-qrelay-page-trust'])
  })

  it('shows the quarantine banner to a session signed in by QR, and refuses it a password change', async () => {
    const account = await t.auth.accounts.findByUsername('dora')
    if (account === null) throw new Error('no account')
    const tokens = await t.auth.sessions.mint(account, {
      displayName: 'Browser by QR',
      origin: 'qr',
      quarantineUntilMs: t.clock.now() + 3_600_000,
    })
    const b = browser(t)
    b.jar.set('__Host-qrelay-page', tokens.accessToken)
    const page = await (await b.send('/account')).text()
    expect(page).toContain('id="quarantine"')
    expect(page).toContain('signed in with a QR code recently')
    const refused = await b.post('/account/password', {
      password: PASSWORD,
      new_password: 'another long passphrase 42',
      logout_devices: 'on',
    })
    expect(refused.status).toBe(403)
    expect(await refused.text()).toContain('cannot do this yet')
    // A password session has no banner.
    const plain = await signIn()
    expect(await (await plain.send('/account')).text()).not.toContain('id="quarantine"')
  })

  it('refuses an /account POST from another origin and a form over 16 KiB', async () => {
    const b = await signIn()
    const foreign = await b.send('/account/password', {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'password=x&new_password=y',
    })
    expect(foreign.status).toBe(403)
    const big = await b.post('/account/devices/not-me', { device_id: 'x'.repeat(20_000) })
    expect(big.status).toBe(413)
  })

  it('"not me" asks for the password once the session authenticated too long ago, and then signs the device out', async () => {
    const b = await signIn()
    const account = await t.auth.accounts.findByUsername('dora')
    if (account === null) throw new Error('no account')
    const other = await t.auth.sessions.mint(account, { displayName: 'Old phone', origin: 'password' })
    t.clock.advance((t.config.policy.deviceActionMaxAuthAgeSeconds + 60) * 1000)
    const first = await (await b.post('/account/devices/not-me', { device_id: other.deviceId })).text()
    expect(first).toContain('name="password"')
    const wrong = await b.post('/account/devices/not-me', { device_id: other.deviceId, confirm: '1', password: 'nope nope nope' })
    expect(wrong.status).toBe(403)
    expect(await wrong.text()).toContain('That password is wrong.')
    const ids = async () => (await t.auth.sessions.listDevices(account.id)).map((d) => d.id)
    expect(await ids()).toContain(other.deviceId)
    const done = await b.post('/account/devices/not-me', { device_id: other.deviceId, confirm: '1', password: PASSWORD })
    expect(done.status).toBe(200)
    expect(await done.text()).toContain('Old phone is signed out.')
    expect(await ids()).not.toContain(other.deviceId)
  })

  it('Decline on the consent page burns the typed code: the new device hears access_denied', async () => {
    const b = await signIn()
    const send = viaApp(t.app)
    const holder = await dpopHolder()
    const grant = await requestGrant(send, holder, t.clock.now(), { channel_binding: bindingOf('d'), device_name: 'TV' })
    expect(grant.status).toBe(200)
    const consent = await b.send(`/device?user_code=${grant.codes.user_code}`)
    expect(await consent.text()).toContain('value="decline"')
    const declined = await b.post('/device/decide', { user_code: grant.codes.user_code, decision: 'decline' })
    expect(await declined.text()).toContain('Declined. Nothing was signed in.')
    // Nobody can approve it any more; the new device is told.
    expect(await (await b.send(`/device?user_code=${grant.codes.user_code}`)).text()).toContain('This code is unknown, used or expired.')
    const poll = await pollToken(send, holder, t.clock.now(), grant.codes.device_code)
    expect(poll.body.error).toBe('access_denied')
  })

  it('Approve on the consent page shows a code the new device must submit before it gets tokens', async () => {
    const b = await signIn()
    const send = viaApp(t.app)
    const holder = await dpopHolder()
    const grant = await requestGrant(send, holder, t.clock.now(), { channel_binding: bindingOf('e'), device_name: 'TV' })
    const approved = await b.post('/device/decide', { user_code: grant.codes.user_code, decision: 'approve' })
    expect(approved.status).toBe(200)
    const html = await approved.text()
    const code = /id="initiation-code">(\d{6})</.exec(html)?.[1] ?? ''
    expect(code).toMatch(/^\d{6}$/)
    expect((await pollToken(send, holder, t.clock.now(), grant.codes.device_code)).body.error).toBe('authorization_pending')
    const enter = async (typed: string) => {
      const url = `${ORIGIN}/v1/device-verification`
      return t.app.request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await holder.prove('POST', url, t.clock.now()) },
        body: new URLSearchParams({ device_code: grant.codes.device_code, code: typed }).toString(),
      })
    }
    const wrong = await enter(code === '000000' ? '111111' : '000000')
    expect(wrong.status).toBe(400)
    expect(await wrong.json()).toMatchObject({ error: 'invalid_code', attempts_left: 4 })
    expect(await (await enter(code)).json()).toEqual({ status: 'verified' })
    t.clock.advance(10_000)
    const tokens = await pollToken(send, holder, t.clock.now(), grant.codes.device_code)
    expect(tokens.status).toBe(200)
    expect(tokens.body.token_type).toBe('DPoP')
  })

  it('asks for the password inline when the policy steps up, with Decline still needing none', async () => {
    const b = await signIn()
    const send = viaApp(t.app)
    const holder = await dpopHolder()
    // The new device far from the approver (another network, no location): the policy steps up.
    const grant = await requestGrant(send, holder, t.clock.now(), { channel_binding: bindingOf('f') }, { 'x-test-peer': '198.51.100.7' })
    const asked = await b.post('/device/decide', { user_code: grant.codes.user_code, decision: 'approve' })
    const html = await asked.text()
    expect(html).toContain('name="password"')
    expect(html).toMatch(/value="decline"[^>]*formnovalidate/)
    const wrong = await b.post('/device/decide', { user_code: grant.codes.user_code, decision: 'approve', password: 'nope' })
    expect(wrong.status).toBe(403)
    expect(await wrong.text()).toContain('That password is wrong.')
    const done = await b.post('/device/decide', { user_code: grant.codes.user_code, decision: 'approve', password: PASSWORD })
    expect(await done.text()).toMatch(/id="initiation-code">\d{6}</)
  })
})
