/**
 * Finding 70: the pages' session during a store outage. The API answers a request it cannot
 * authenticate for want of its store with 503 and `Retry-After`, and changes nothing (finding 12);
 * the pages read their cookie session through `signedIn`, which must do the same: a store that cannot
 * be reached is neither "signed out" nor a reason to drop the browser's cookies.
 */
import { describe, expect, it } from 'vitest'
import { StoreUnavailableError } from '../../src/core/store-unavailable.ts'
import { memoryDurableStore } from '../../src/adapters/durable/memory.ts'
import type { DurableStore } from '../../src/ports.ts'
import type { FakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'

const ORIGIN = 'https://relay.example'
const PASSWORD = 'correct horse battery staple'
const ENV = { QRELAY_ARGON2_MEMORY_KIB: '64', QRELAY_ARGON2_ITERATIONS: '1', QRELAY_APPROVER_MIN_AGE_SECONDS: '0' }

/** The memory durable store, every port of which throws StoreUnavailableError while `down.now` is set. */
const outageDurable = (down: { now: boolean; error?: Error }) => {
  const failing = <P extends object>(port: P): P =>
    new Proxy(port, {
      get(target, name, receiver) {
        const value: unknown = Reflect.get(target, name, receiver)
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          if (down.now) return Promise.reject(down.error ?? new StoreUnavailableError('the store is unreachable'))
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
      },
    })
  return (clock: FakeClock): DurableStore => {
    const inner = memoryDurableStore({ clock }) as unknown as Record<string, unknown>
    const wrapped: Record<string, unknown> = {}
    for (const [key, port] of Object.entries(inner)) wrapped[key] = typeof port === 'object' && port !== null ? failing(port) : port
    return wrapped as unknown as DurableStore
  }
}

/** A signed-in page session (its two cookies) of "dora", and the app. */
const setup = async () => {
  const down: { now: boolean; error?: Error } = { now: false }
  const t = makeApp({ env: ENV, durable: outageDurable(down) })
  await t.auth.accounts.create('dora', PASSWORD)
  const signin = await t.app.request(`${ORIGIN}/signin`, {
    method: 'POST',
    headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: 'dora', password: PASSWORD, next: '/account' }).toString(),
  })
  expect(signin.status).toBe(303)
  const cookie = signin.headers
    .getSetCookie()
    .map((line) => line.split(';')[0] ?? '')
    .filter((pair) => pair.startsWith('__Host-qrelay-page=') || pair.startsWith('__Host-qrelay-page-refresh='))
    .join('; ')
  expect(cookie).toContain('__Host-qrelay-page-refresh=')
  return { t, down, cookie }
}

const clearsCookies = (res: Response): boolean =>
  res.headers.getSetCookie().some((line) => /^__Host-qrelay-page(-refresh)?=;/.test(line) || /Max-Age=0/i.test(line))

describe('finding 70: pages: a store outage is not a sign-out', () => {
  it('finding 70: /account answers 503 during the outage, as the API does, and keeps the cookies', async () => {
    const { t, down, cookie } = await setup()
    down.now = true
    const access = /__Host-qrelay-page=([^;]+)/.exec(cookie)?.[1] ?? ''
    const api = await t.app.request(`${ORIGIN}/v1/account/whoami`, { headers: { authorization: `Bearer ${access}` } })
    expect(api.status).toBe(503)
    const res = await t.app.request(`${ORIGIN}/account`, { headers: { cookie } })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).not.toBeNull()
    expect(clearsCookies(res)).toBe(false)
    // A person's browser gets it as a page that says so, with the same status and Retry-After; an API
    // client (above) the JSON.
    const page = await t.app.request(`${ORIGIN}/account`, { headers: { cookie, 'sec-fetch-dest': 'document', accept: 'text/html' } })
    expect(page.status).toBe(503)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(page.headers.get('retry-after')).toBe(res.headers.get('retry-after'))
    expect(page.headers.get('cache-control')).toBe('no-store')
    expect(await page.text()).toContain('Try again in a moment')
    expect(clearsCookies(page)).toBe(false)
    expect(await api.json()).toMatchObject({ errcode: expect.any(String) })
    // Once the store is back, the same cookies still open the account.
    down.now = false
    const after = await t.app.request(`${ORIGIN}/account`, { headers: { cookie } })
    expect(after.status).toBe(200)
  })

  it('finding 70: "Sign out" during the outage does not say "signed out" while the device stays signed in', async () => {
    const { t, down, cookie } = await setup()
    down.now = true
    const res = await t.app.request(`${ORIGIN}/signout`, {
      method: 'POST',
      headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    })
    expect(res.status).toBe(503)
    expect(clearsCookies(res)).toBe(false)
    down.now = false
    const account = await t.auth.accounts.findByUsername('dora')
    expect((await t.auth.sessions.listDevices(account?.id ?? '')).length).toBe(1)
    // The retry, with the store back, signs the device out.
    const retry = await t.app.request(`${ORIGIN}/signout`, {
      method: 'POST',
      headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    })
    expect(retry.status).toBe(200)
    expect((await t.auth.sessions.listDevices(account?.id ?? '')).length).toBe(0)
  })

  it('a fault of the server is a page that says only that it failed, to a person; the JSON 500 to an API client', async () => {
    const { t, down, cookie } = await setup()
    down.now = true
    down.error = new Error('disk I/O error near secret-value-7')
    const navigation = { cookie, 'sec-fetch-dest': 'document', accept: 'text/html' }
    const page = await t.app.request(`${ORIGIN}/account`, { headers: navigation })
    expect(page.status).toBe(500)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await page.text()
    expect(html).toContain('Something went wrong')
    expect(html).not.toContain('secret-value-7')
    expect(html).not.toContain('disk I/O')
    const api = await t.app.request(`${ORIGIN}/account`, { headers: { cookie } })
    expect(api.status).toBe(500)
    expect(JSON.stringify(await api.json())).not.toContain('secret-value-7')
  })
})
