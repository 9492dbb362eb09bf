/**
 * Security findings 37, 38, 41, 45 and 46 on the Worker inside workerd (the real entry, over the Durable
 * Object stores): a device reported "not me" while it holds a feed read open is answered 401, not the
 * report; one address learns whether a bounded number of names are taken through registration; a
 * sign-out and a rename of the owner's devices are in the account feed, naming the device that did
 * them; an RFC 7009 revocation of a device's token (45), or a reuse of its refresh token (46), signs the
 * device out and is in the feed, once.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { call, login, refresh, withUia, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { BASE, bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'

const ORIGIN = 'https://relay.example'
const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'
const PASSWORD = 'correct horse battery staple'

/** A client at `ip`. */
const from =
  (ip: string): Send =>
  (path, init) =>
    SELF.fetch(`${ORIGIN}${path}`, { ...init, headers: { 'cf-connecting-ip': ip, ...(init.headers as Record<string, string>) } })

describe('workers: finding 37', () => {
  it('finding 37: GET /v1/events held on the Worker by a device reported "not me" answers 401, not the report', async () => {
    const owner = from('192.0.2.137')
    const username = `f37x${Date.now().toString(36)}`
    expect((await call(owner, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const phone = await login(owner, username, PASSWORD, undefined, 'Phone')
    const other = from('192.0.2.237')
    const laptop = await login(other, username, PASSWORD, undefined, 'Laptop')
    const since = (await call(other, 'GET', '/v1/events', undefined, laptop.access_token)).body.next_since as number
    const held = call(other, 'GET', `/v1/events?since=${since}&timeout_ms=10000`, undefined, laptop.access_token)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect((await call(owner, 'POST', `/v1/devices/${laptop.device_id}/not-me`, {}, phone.access_token)).status).toBe(200)
    const answer = await held
    expect(answer.status, JSON.stringify(answer.body)).toBe(401)
    const feed = await call(owner, 'GET', `/v1/events?since=${since}`, undefined, phone.access_token)
    expect(feed.body.events.map((e: { type: string }) => e.type)).toEqual(['device_not_me'])
  })
})

describe('workers: finding 38', () => {
  it('finding 38: one address probing 40 names through /v1/register on the Worker learns at most 30 answers', async () => {
    const stranger = from('192.0.2.238')
    const statuses: number[] = []
    for (let i = 0; i < 40; i++) {
      statuses.push((await call(stranger, 'POST', '/v1/register', { username: `f38x${i}`, password: PASSWORD })).status)
    }
    expect(statuses.filter((s) => s !== 429).length).toBeLessThanOrEqual(30)
    expect(statuses.slice(-5)).toEqual([429, 429, 429, 429, 429])
  })
})

describe('workers: finding 41', () => {
  it("finding 41: on the Worker, a rename and a sign-out of the owner's phone from another device are in the feed; the phone's held read answers 401", async () => {
    const owner = from('192.0.2.141')
    const username = `f41x${Date.now().toString(36)}`
    expect((await call(owner, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const phone = await login(owner, username, PASSWORD, undefined, 'Phone')
    const tablet = await login(owner, username, PASSWORD, undefined, 'Tablet')
    const other = from('192.0.2.241')
    const laptop = await login(other, username, PASSWORD, undefined, 'Laptop')
    const since = (await call(owner, 'GET', '/v1/events', undefined, tablet.access_token)).body.next_since as number
    const path = `/v1/devices/${phone.device_id}`
    expect((await call(other, 'PATCH', path, { display_name: 'old tablet - unused' }, laptop.access_token)).status).toBe(200)
    const renamed = (await call(owner, 'GET', `/v1/events?since=${since}`, undefined, phone.access_token)).body
    const held = call(owner, 'GET', `/v1/events?since=${renamed.next_since}&timeout_ms=10000`, undefined, phone.access_token)
    await new Promise((resolve) => setTimeout(resolve, 200))
    const { final } = await withUia(other, 'DELETE', path, {}, PASSWORD, undefined, laptop.access_token)
    expect(final.status, JSON.stringify(final.body)).toBe(200)
    expect((await held).status).toBe(401)
    expect((await call(other, 'POST', '/v1/logout', {}, laptop.access_token)).status).toBe(200)
    // Before: nothing in the feed for any of the three.
    const feed = (await call(owner, 'GET', `/v1/events?since=${since}`, undefined, tablet.access_token)).body.events
    expect(feed.map((e: { type: string; device_id: string; details: unknown }) => [e.type, e.device_id, e.details])).toEqual([
      ['device_renamed', phone.device_id, { by_device: laptop.device_id, self: false, old_name: 'Phone', new_name: 'old tablet - unused' }],
      ['device_signed_out', phone.device_id, { by_device: laptop.device_id, self: false, device_name: 'old tablet - unused' }],
      ['device_signed_out', laptop.device_id, { by_device: laptop.device_id, self: true, device_name: 'Laptop' }],
    ])
  })
})

describe('workers: finding 45', () => {
  it("finding 45: on the Worker, revoking a password session's access token and a QR session's refresh token signs both devices out, reported once each", async () => {
    const owner = from('192.0.2.145')
    const username = `f45x${Date.now().toString(36)}`
    expect((await call(owner, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const phone = await login(owner, username, PASSWORD, undefined, 'Phone')
    const other = from('192.0.2.245')
    const laptop = await login(other, username, PASSWORD, undefined, 'Laptop')
    const holder = await dpopHolder()
    const tvAt = from('192.0.2.246')
    const { codes } = await requestGrant(tvAt, holder, Date.now(), { channel_binding: bindingOf('W'), device_name: 'TV' })
    const approval = { decision: 'approve' as const, channel_binding: bindingOf('W'), dpop_jkt: holder.jkt }
    expect((await decide(owner, phone.access_token, codes.user_code, approval)).status).toBe(200)
    const tv = await pollToken(tvAt, holder, Date.now(), codes.device_code)
    expect(tv.status, JSON.stringify(tv.body)).toBe(200)
    const since = (await call(owner, 'GET', '/v1/events', undefined, phone.access_token)).body.next_since as number
    const revoke = async (send: Send, token: string, headers: Record<string, string> = {}) =>
      (
        await send('/oauth2/revoke', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
          body: new URLSearchParams({ token }).toString(),
        })
      ).status
    expect(await revoke(other, laptop.access_token)).toBe(200)
    // Before: the laptop's refresh token still refreshed, and the device stayed listed.
    expect((await refresh(other, laptop.refresh_token)).body.error).toBe('invalid_grant')
    expect(await revoke(tvAt, tv.body.refresh_token, { dpop: await holder.prove('POST', `${BASE}/oauth2/revoke`, Date.now()) })).toBe(200)
    expect((await callWithDpop(tvAt, holder, Date.now(), 'GET', '/v1/devices', tv.body.access_token)).status).toBe(401)
    expect(await revoke(other, laptop.refresh_token)).toBe(200)
    const listed = (await call(owner, 'GET', '/v1/devices', undefined, phone.access_token)).body.devices
    expect(listed.map((d: { device_id: string }) => d.device_id)).toEqual([phone.device_id])
    const feed = (await call(owner, 'GET', `/v1/events?since=${since}`, undefined, phone.access_token)).body.events
    expect(feed.map((e: { type: string; device_id: string; details: unknown }) => [e.type, e.device_id, e.details])).toEqual([
      ['device_signed_out', laptop.device_id, { by_device: laptop.device_id, self: true, device_name: 'Laptop', via: 'token_revocation' }],
      ['device_signed_out', tv.body.device_id, { by_device: tv.body.device_id, self: true, device_name: 'TV', via: 'token_revocation' }],
    ])
  })
})

describe('workers: finding 46', () => {
  it('finding 46: on the Worker, a rotated-out refresh token replayed after the grace signs its device out, reported once', async () => {
    const owner = from('192.0.2.146')
    const username = `f46x${Date.now().toString(36)}`
    expect((await call(owner, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const phone = await login(owner, username, PASSWORD, undefined, 'Phone')
    const other = from('192.0.2.246')
    const laptop = await login(other, username, PASSWORD, undefined, 'Laptop')
    const since = (await call(owner, 'GET', '/v1/events', undefined, phone.access_token)).body.next_since as number
    const rotated = await refresh(other, laptop.refresh_token)
    expect(rotated.status).toBe(200)
    // Past the refresh grace (2 s by default): the replay is a reuse, not a retry. workerd's clock moves with real time only.
    await new Promise((resolve) => setTimeout(resolve, 2_200))
    expect((await refresh(other, laptop.refresh_token)).body.error).toBe('invalid_grant')
    expect((await refresh(other, rotated.body.refresh_token)).body.error).toBe('invalid_grant')
    expect((await refresh(other, laptop.refresh_token)).body.error).toBe('invalid_grant')
    const listed = (await call(owner, 'GET', '/v1/devices', undefined, phone.access_token)).body.devices
    expect(listed.map((d: { device_id: string }) => d.device_id)).toEqual([phone.device_id])
    const feed = (await call(owner, 'GET', `/v1/events?since=${since}`, undefined, phone.access_token)).body.events
    expect(feed.map((e: { type: string; device_id: string; details: unknown }) => [e.type, e.device_id, e.details])).toEqual([
      [
        'device_signed_out',
        laptop.device_id,
        { by_device: laptop.device_id, self: true, device_name: 'Laptop', via: 'refresh_token_reuse' },
      ],
    ])
  })
})

describe('workers: finding 47', () => {
  it('finding 47: on the Worker, an approval not yet redeemed is refused after the owner changes the password with "sign out other devices"', async () => {
    const owner = from('192.0.2.147')
    const username = `f47x${Date.now().toString(36)}`
    expect((await call(owner, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const phone = await login(owner, username, PASSWORD, undefined, 'Phone')
    const holder = await dpopHolder()
    const phisher = from('192.0.2.247')
    const { codes } = await requestGrant(phisher, holder, Date.now(), { channel_binding: bindingOf('X'), device_name: 'Phisher' })
    const approval = { decision: 'approve' as const, channel_binding: bindingOf('X'), dpop_jkt: holder.jkt }
    expect((await decide(owner, phone.access_token, codes.user_code, approval)).status).toBe(200)
    const body = { new_password: 'a completely different passphrase 42', logout_devices: true }
    expect((await withUia(owner, 'POST', '/v1/account/password', body, PASSWORD, undefined, phone.access_token)).final.status).toBe(200)
    const polled = await pollToken(phisher, holder, Date.now(), codes.device_code)
    expect(polled.status).toBe(400)
    expect(polled.body.error).toBe('access_denied')
    const listed = (await call(owner, 'GET', '/v1/devices', undefined, phone.access_token)).body.devices
    expect(listed.map((d: { device_id: string }) => d.device_id)).toEqual([phone.device_id])
    // Approved after the change: signs in.
    const next = await dpopHolder()
    const again = await requestGrant(phisher, next, Date.now(), { channel_binding: bindingOf('Y'), device_name: 'TV' })
    const approveAgain = { decision: 'approve' as const, channel_binding: bindingOf('Y'), dpop_jkt: next.jkt }
    expect((await decide(owner, phone.access_token, again.codes.user_code, approveAgain)).status).toBe(200)
    const tv = await pollToken(phisher, next, Date.now(), again.codes.device_code)
    expect(tv.status, JSON.stringify(tv.body)).toBe(200)
  })
})
