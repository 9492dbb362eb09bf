/**
 * The admin API twin of the operator CLI through `app.request()`: show, enable, set a password,
 * reset 2FA, list and revoke devices, under the admin token; a disabled user cannot log in.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { call, type Send, withUia } from '../../helpers/account-client.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const t = makeApp({ env: TEST_ENV, clock: fakeClock(Date.now()) })
const send: Send = (path, init) => Promise.resolve(t.app.request(path, init))
afterAll(async () => void (await Promise.all([t.store.close(), t.durable.close()])))

const login = (password: string) =>
  withUia(send, 'POST', '/v1/login', { username: 'dora', initial_device_display_name: 'laptop' }, password)

describe('admin API: accounts and devices', () => {
  it('refuses without or with a wrong token, and answers 404 for an unknown user', async () => {
    expect((await call(send, 'GET', '/v1/admin/users/dora')).status).toBe(401)
    expect((await call(send, 'GET', '/v1/admin/users/dora', undefined, 'wrong')).status).toBe(401)
    expect((await call(send, 'GET', '/v1/admin/users/nobody', undefined, ADMIN_TOKEN)).status).toBe(404)
  })

  it('disables, enables, resets 2FA, sets a password and revokes devices', async () => {
    expect((await call(send, 'POST', '/v1/admin/users', { username: 'dora', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    expect((await login(PASSWORD)).final.status).toBe(200)
    const devices = await call(send, 'GET', '/v1/admin/users/dora/devices', undefined, ADMIN_TOKEN)
    expect(devices.body.devices).toHaveLength(1)
    const id = devices.body.devices[0].device_id as string
    expect((await call(send, 'DELETE', `/v1/admin/users/dora/devices/${id}`, undefined, ADMIN_TOKEN)).status).toBe(204)
    expect((await call(send, 'DELETE', `/v1/admin/users/dora/devices/${id}`, undefined, ADMIN_TOKEN)).status).toBe(404)
    await call(send, 'POST', '/v1/admin/users/dora/disable', {}, ADMIN_TOKEN)
    expect((await login(PASSWORD)).final.status).not.toBe(200)
    const enabled = await call(send, 'POST', '/v1/admin/users/dora/enable', {}, ADMIN_TOKEN)
    expect(enabled.body).toMatchObject({ user_id: 'dora', status: 'active' })
    const reset = await call(send, 'POST', '/v1/admin/users/dora/reset-2fa', {}, ADMIN_TOKEN)
    expect(reset.body.two_factor).toBe('none')
    const account = await t.durable.accounts.findByUsername('dora')
    expect(t.events.list(account?.id ?? '').map((e) => e.type)).toContain('totp_disabled')
    const set = await call(send, 'POST', '/v1/admin/users/dora/password', { password: 'another long passphrase' }, ADMIN_TOKEN)
    expect(set.status).toBe(200)
    expect((await login('another long passphrase')).final.status).toBe(200)
    expect((await call(send, 'GET', '/v1/admin/users/dora', undefined, ADMIN_TOKEN)).body).toMatchObject({ status: 'active' })
  })
})
