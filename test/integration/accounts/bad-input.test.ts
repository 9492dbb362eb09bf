/**
 * Every account endpoint answers bad input with a 4xx JSON error and changes nothing: the account,
 * its devices and its recovery codes are the same before and after a barrage of malformed requests.
 */
import { describe, expect, it } from 'vitest'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { call, login, viaApp } from '../../helpers/account-client.ts'
import { ADMIN_TOKEN, TEST_ENV } from './flow-suite.ts'

const PASSWORD = 'correct horse battery staple'

interface Raw {
  method: string
  path: string
  body?: string
  contentType?: string
  auth?: 'user' | 'admin' | 'none'
}

const json = (method: string, path: string, value: unknown, auth: Raw['auth'] = 'user'): Raw => ({
  method,
  path,
  body: JSON.stringify(value),
  contentType: 'application/json',
  auth,
})

/** The same garbage for every JSON endpoint: wrong type, unparsable, not an object, too big, bad auth. */
const garbageFor = (method: string, path: string, auth: Raw['auth'] = 'user'): Raw[] => [
  { method, path, body: 'username=alice', contentType: 'text/plain', auth },
  { method, path, body: '{"username":', contentType: 'application/json', auth },
  { method, path, body: '[1,2]', contentType: 'application/json', auth },
  { method, path, body: '"text"', contentType: 'application/json', auth },
  { method, path, body: JSON.stringify({ padding: 'x'.repeat(20_000) }), contentType: 'application/json', auth },
  json(method, path, { username: 'alice', new_password: 'another long passphrase', auth: 'not an object' }, auth),
  json(method, path, { username: 'alice', new_password: 'another long passphrase', auth: { type: 'm.login.password', session: 7 } }, auth),
  json(method, path, { username: 'alice', new_password: 'another long passphrase', auth: { type: 'm.login.nope', session: 's' } }, auth),
  json(
    method,
    path,
    {
      username: 'alice',
      new_password: 'another long passphrase',
      auth: { type: 'm.login.password', session: 'unknown', password: PASSWORD },
    },
    auth,
  ),
]

describe('account endpoints with bad input', () => {
  it('answer 4xx JSON and change nothing', async () => {
    const t = makeApp({ env: TEST_ENV, clock: fakeClock(Date.now()) })
    const send = viaApp(t.app)
    const created = await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const accountId = created.body.account_id as string
    const tokens = await login(send, 'alice', PASSWORD, undefined, 'Main')
    const deviceId = tokens.device_id as string
    const snapshot = async () => ({
      account: await t.durable.accounts.get(accountId),
      devices: await t.durable.devices.listByAccount(accountId),
      codes: await t.durable.credentials.countRecoveryCodes(accountId),
      users: await t.durable.accounts.findByUsername('bob'),
    })
    const before = await snapshot()

    const requests: Raw[] = [
      ...garbageFor('POST', '/v1/login', 'none'),
      json('POST', '/v1/login', {}, 'none'),
      json('POST', '/v1/login', { username: 42 }, 'none'),
      json('POST', '/v1/login', { username: '' }, 'none'),
      json('POST', '/v1/login', { identifier: { type: 'm.id.phone', user: 'alice' } }, 'none'),
      json('POST', '/v1/login', { identifier: 'alice' }, 'none'),
      json('POST', '/v1/login', { username: 'alice', initial_device_display_name: 'x'.repeat(101) }, 'none'),
      json('POST', '/v1/login', { username: 'alice', auth: { type: 'm.login.password', session: 'nope', password: 5 } }, 'none'),
      ...garbageFor('POST', '/v1/register', 'none'),
      json('POST', '/v1/register', { username: 'bob' }, 'none'),
      json('POST', '/v1/register', { username: 'bob', password: 'short' }, 'none'),
      json('POST', '/v1/register', { username: 'b o b', password: PASSWORD }, 'none'),
      json('POST', '/v1/register', { username: 'x'.repeat(65), password: PASSWORD }, 'none'),
      ...garbageFor('POST', '/v1/admin/users', 'admin'),
      json('POST', '/v1/admin/users', { username: 'bob', password: PASSWORD }, 'none'),
      json('POST', '/v1/admin/users', { username: 'bob', password: PASSWORD }, 'user'),
      json('POST', '/v1/admin/users', { username: 'bob', password: 'password' }, 'admin'),
      json('POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, 'admin'),
      json('POST', '/v1/admin/users/nobody/disable', {}, 'admin'),
      json('POST', '/v1/admin/users/alice/disable', {}, 'none'),
      ...garbageFor('POST', '/v1/account/password'),
      json('POST', '/v1/account/password', {}),
      json('POST', '/v1/account/password', { new_password: 12345678901 }),
      json('POST', '/v1/account/password', { new_password: 'short' }),
      json('POST', '/v1/account/password', { new_password: 'alice' }),
      json('POST', '/v1/account/password', { new_password: 'another long passphrase', logout_devices: 'yes' }),
      json('POST', '/v1/account/password', { new_password: 'another long passphrase' }, 'none'),
      ...garbageFor('POST', '/v1/account/totp'),
      ...garbageFor('DELETE', '/v1/account/totp'),
      json('DELETE', '/v1/account/totp', {}),
      json('POST', '/v1/account/totp/confirm', { code: '123456' }),
      json('POST', '/v1/account/totp/confirm', {}),
      json('POST', '/v1/account/totp/confirm', { code: 123456 }),
      { method: 'POST', path: '/v1/account/totp/confirm', body: 'code=1', contentType: 'text/plain', auth: 'user' },
      ...garbageFor('POST', '/v1/account/recovery-codes'),
      json('POST', '/v1/account/recovery-codes', {}),
      ...garbageFor('PATCH', `/v1/devices/${deviceId}`),
      json('PATCH', `/v1/devices/${deviceId}`, {}),
      json('PATCH', `/v1/devices/${deviceId}`, { display_name: '' }),
      json('PATCH', `/v1/devices/${deviceId}`, { display_name: 'x'.repeat(101) }),
      json('PATCH', '/v1/devices/unknown-device', { display_name: 'New' }),
      json('PATCH', '/v1/devices/bad%20id', { display_name: 'New' }),
      ...garbageFor('DELETE', `/v1/devices/${deviceId}`),
      json('DELETE', '/v1/devices/unknown-device', {}),
      json('DELETE', `/v1/devices/${deviceId}`, {}, 'none'),
      { method: 'GET', path: '/v1/devices', auth: 'none' },
      { method: 'GET', path: '/v1/account/whoami', auth: 'none' },
      { method: 'POST', path: '/v1/logout', auth: 'none' },
      { method: 'PUT', path: '/v1/login', auth: 'none' },
      { method: 'GET', path: '/v1/account/password', auth: 'user' },
      { method: 'POST', path: '/v1/devices', auth: 'user' },
    ]
    for (const r of requests) {
      const headers: Record<string, string> = { 'x-test-peer': `198.51.100.${requests.indexOf(r) % 250}` }
      if (r.contentType !== undefined) headers['content-type'] = r.contentType
      if (r.auth === 'user') headers.authorization = `Bearer ${tokens.access_token}`
      if (r.auth === 'admin') headers.authorization = `Bearer ${ADMIN_TOKEN}`
      const res = await t.app.request(r.path, { method: r.method, headers, ...(r.body === undefined ? {} : { body: r.body }) })
      const label = `${r.method} ${r.path} ${r.body?.slice(0, 80) ?? ''} (${r.auth})`
      expect(res.status, label).toBeGreaterThanOrEqual(400)
      expect(res.status, label).toBeLessThan(500)
      expect(res.headers.get('content-type'), label).toMatch(/^application\/json/)
      const body = (await res.json()) as Record<string, unknown>
      expect(typeof body.errcode, label).toBe('string')
    }

    const oauth: Array<[string | undefined, string]> = [
      ['application/json', JSON.stringify({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token })],
      ['application/x-www-form-urlencoded', ''],
      ['application/x-www-form-urlencoded', 'grant_type=password&username=alice'],
      ['application/x-www-form-urlencoded', 'grant_type=refresh_token'],
      ['application/x-www-form-urlencoded', 'grant_type=refresh_token&refresh_token=garbage'],
      ['application/x-www-form-urlencoded', `grant_type=refresh_token&refresh_token=${'A'.repeat(22)}.${'B'.repeat(43)}`],
      ['application/x-www-form-urlencoded', `grant_type=refresh_token&refresh_token=${tokens.refresh_token}&refresh_token=x`],
      ['application/x-www-form-urlencoded', `grant_type=refresh_token&refresh_token=${'x'.repeat(5000)}`],
      [undefined, 'grant_type=refresh_token'],
    ]
    for (const [contentType, body] of oauth) {
      const res = await t.app.request('/oauth2/token', {
        method: 'POST',
        headers: contentType === undefined ? {} : { 'content-type': contentType },
        body,
      })
      expect(res.status, body.slice(0, 60)).toBe(400)
      const answer = (await res.json()) as Record<string, unknown>
      expect(['invalid_request', 'invalid_grant', 'unsupported_grant_type']).toContain(answer.error)
      expect(typeof answer.error_description).toBe('string')
    }

    expect(await snapshot()).toEqual(before)
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, tokens.access_token)).status).toBe(200)
  })
})
