/**
 * The whole QR login on the Worker inside workerd, driven by the real device SDK over `SELF.fetch`:
 * channel, ECDH handshake and check code through the Durable Object relay, device authorization with
 * a DPoP proof, approval by a password-signed-in existing device, DPoP-bound tokens from the account
 * objects; in both intents. Plus the races that must hold on Durable Objects too.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { approveSignIn, ExistingDevice, NewDevice, signIn, type DeviceSession } from '../../src/client/devices.ts'
import { httpTransport } from '../../src/client/http-transport.ts'
import type { FetchLike } from '../../src/client/native-api.ts'
import { call, withUia, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { bindingOf, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'

const ORIGIN = 'https://relay.example'
const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'
const PASSWORD = 'correct horse battery staple'

let counter = 0
/** fetch through the Worker, appearing from `ip` (CF-Connecting-IP). */
const fetchFrom =
  (ip: string): FetchLike =>
  (input, init = {}) => {
    const headers = new Headers(init.headers)
    headers.set('cf-connecting-ip', ip)
    return SELF.fetch(input, { ...init, headers })
  }
const sendFrom =
  (ip: string): Send =>
  (path, init) =>
    fetchFrom(ip)(`${ORIGIN}${path}`, init)

/** A fresh account and its existing device, signed in by password from `ip`. */
const existingDevice = async (ip: string): Promise<{ username: string; token: string }> => {
  const username = `qr${Date.now().toString(36)}x${++counter}`
  const send = sendFrom(ip)
  expect((await call(send, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
  const { final } = await withUia(send, 'POST', '/v1/login', { username, initial_device_display_name: 'Phone' }, PASSWORD)
  expect(final.status, JSON.stringify(final.body)).toBe(200)
  return { username, token: final.body.access_token as string }
}

const options = (ip: string) => ({
  baseUrl: ORIGIN,
  fetch: fetchFrom(ip),
  transport: httpTransport({ baseUrl: ORIGIN, pollIntervalMs: 20, fetch: fetchFrom(ip) }),
})

const qrLogin = async (intent: 'new shows' | 'existing shows', newIp: string, existingIp: string, token: string) => {
  const newOptions = options(newIp)
  const existingOptions = options(existingIp)
  const newShows = intent === 'new shows'
  const shown = newShows ? await NewDevice.showQr(newOptions) : await ExistingDevice.showQr(existingOptions)
  const scan = newShows ? await ExistingDevice.scanQr(shown.qrLink, existingOptions) : await NewDevice.scanQr(shown.qrLink, newOptions)
  await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scan.connect({ timeoutMs: 10_000 })])
  await shown.confirmCheckCode(scan.checkCode)
  const [newSession, existingSession] = newShows ? [shown, scan] : [scan, shown]
  const [session, approval] = await Promise.all([
    signIn(newSession, { ...newOptions, deviceName: 'Kitchen TV' }),
    approveSignIn(existingSession, { ...existingOptions, accessToken: token, timeoutMs: 15_000, confirm: () => true }),
  ])
  await Promise.all([shown.close().catch(() => {}), scan.close().catch(() => {})])
  return { session, approval }
}

const whoami = async (session: DeviceSession) => {
  const res = await session.authorizedFetch('/v1/account/whoami')
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('workers: QR login through the SDK', () => {
  for (const intent of ['new shows', 'existing shows'] as const) {
    it(`signs a new device in when the ${intent === 'new shows' ? 'new' : 'existing'} device shows the QR code`, async () => {
      const { username, token } = await existingDevice('198.51.100.20')
      const { session, approval } = await qrLogin(intent, '198.51.100.77', '198.51.100.20', token)
      expect(approval.status).toBe('approved')
      expect(session.scope).toBe('device')
      expect(await whoami(session)).toMatchObject({ status: 200, body: { user_id: username, device_id: session.deviceId } })
      // The DPoP-bound token is refused as a plain Bearer token.
      expect((await call(sendFrom('198.51.100.77'), 'GET', '/v1/account/whoami', undefined, session.accessToken)).status).toBe(401)
      const before = session.accessToken
      await session.refresh()
      expect(session.accessToken).not.toBe(before)
      expect((await whoami(session)).status).toBe(200)
    })
  }
})

describe('workers: QR login races and attacks on Durable Objects', () => {
  it('redeems a device code once and approves a grant once, whatever the concurrency', async () => {
    const approverIp = '198.51.100.30'
    const { token } = await existingDevice(approverIp)
    const holder = await dpopHolder()
    const send = sendFrom('198.51.100.31')
    const binding = bindingOf('W')
    const { codes } = await requestGrant(send, holder, Date.now(), { channel_binding: binding })
    const body = { decision: 'approve' as const, channel_binding: binding, dpop_jkt: holder.jkt }
    const approvals = await Promise.all(Array.from({ length: 5 }, () => decide(sendFrom(approverIp), token, codes.user_code, body)))
    expect(approvals.filter((a) => a.status === 200)).toHaveLength(1)
    const before = (await call(sendFrom(approverIp), 'GET', '/v1/devices', undefined, token)).body.devices.length as number
    const polls = await Promise.all(Array.from({ length: 5 }, () => pollToken(send, holder, Date.now(), codes.device_code)))
    // One session: every poll that gets tokens gets the same ones; the others hear that its steps
    // (device, family, token, event: several objects) are still being stored.
    const won = polls.filter((p) => p.status === 200)
    expect(won.length).toBeGreaterThanOrEqual(1)
    expect(new Set(won.map((p) => p.body.access_token)).size).toBe(1)
    expect(polls.filter((p) => p.status !== 200).map((p) => p.body.error)).toEqual(Array(5 - won.length).fill('authorization_pending'))
    const again = await pollToken(send, holder, Date.now(), codes.device_code)
    expect(again.body.access_token).toBe(won[0]?.body.access_token)
    const after = (await call(sendFrom(approverIp), 'GET', '/v1/devices', undefined, token)).body.devices.length as number
    expect(after).toBe(before + 1)
  })

  it("refuses an approval carrying another channel's binding and hides the code from that account, without burning it", async () => {
    const approverIp = '198.51.100.40'
    const { token } = await existingDevice(approverIp)
    const holder = await dpopHolder()
    const send = sendFrom('198.51.100.41')
    const { codes } = await requestGrant(send, holder, Date.now(), { channel_binding: bindingOf('A') })
    const res = await decide(sendFrom(approverIp), token, codes.user_code, {
      decision: 'approve',
      channel_binding: bindingOf('B'),
      dpop_jkt: holder.jkt,
    })
    expect(res).toMatchObject({ status: 403, body: { qrelay_code: 'CHANNEL_BINDING_MISMATCH' } })
    expect((await pollToken(send, holder, Date.now(), codes.device_code)).body.error).toBe('authorization_pending')
    const retry = await decide(sendFrom(approverIp), token, codes.user_code, {
      decision: 'approve',
      channel_binding: bindingOf('A'),
      dpop_jkt: holder.jkt,
    })
    expect(retry.status).toBe(404)
  })
})

describe('workers: proximity from request.cf', () => {
  /** fetch through the Worker from `ip`, with Cloudflare's view of where that is. */
  const sendWithCf =
    (ip: string, cf: Record<string, unknown>): Send =>
    (path, init) => {
      const headers = new Headers(init.headers)
      headers.set('cf-connecting-ip', ip)
      return SELF.fetch(`${ORIGIN}${path}`, { ...init, headers, cf } as RequestInit)
    }

  it('denies an approval when request.cf puts the two devices on two continents', async () => {
    const approverIp = '198.51.100.50'
    const { token } = await existingDevice(approverIp)
    const approver = sendWithCf(approverIp, { asn: 3320, country: 'DE', latitude: '52.52', longitude: '13.40' })
    const newDevice = sendWithCf('203.0.113.50', { asn: 7922, country: 'US', latitude: '40.71', longitude: '-74.00' })
    const holder = await dpopHolder()
    const binding = bindingOf('F')
    const { codes } = await requestGrant(newDevice, holder, Date.now(), { channel_binding: binding })
    const context = await call(approver, 'GET', `/v1/approvals/${codes.user_code}`, undefined, token)
    expect(context.body.proximity.relation).toBe('far')
    const res = await decide(approver, token, codes.user_code, { decision: 'approve', channel_binding: binding, dpop_jkt: holder.jkt })
    expect(res).toMatchObject({ status: 403, body: { qrelay_code: 'POLICY_DENIED', reason: 'far_away' } })
  })
})
