/**
 * Regression tests of the token findings of the hardening review (SECURITY.md): authentication before
 * any write (10), revocation of DPoP-bound tokens (11), transient store errors at refresh and
 * device-code redemption (12), and one proof per request on every DPoP-protected route (15).
 */
import { describe, expect, it } from 'vitest'
import { memoryDurableStore } from '../../src/adapters/durable/memory.ts'
import { viaApp } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { dpopCall, oauthForm, tokenSetup } from './tokens-setup.ts'
import { describeTransientFailures } from './tokens-transient-suite.ts'

const settle = () => new Promise((resolve) => setTimeout(resolve, 5))

describe('finding 15: every DPoP-protected route accepts one fresh proof', () => {
  const ROUTES: ReadonlyArray<{ method: string; path: string; body?: unknown; status: number }> = [
    { method: 'GET', path: '/v1/account/whoami', status: 200 },
    { method: 'GET', path: '/v1/devices', status: 200 },
    { method: 'PATCH', path: '/v1/devices/{self}', body: { display_name: 'Renamed' }, status: 200 },
    { method: 'DELETE', path: '/v1/devices/no-such-device', body: {}, status: 404 },
    { method: 'POST', path: '/v1/devices/no-such-device/not-me', body: {}, status: 404 },
    { method: 'GET', path: '/v1/events?timeout_ms=0', status: 200 },
    { method: 'POST', path: '/v1/account/password', body: { new_password: 'another long passphrase 42' }, status: 401 },
    { method: 'POST', path: '/v1/account/totp', body: {}, status: 401 },
    { method: 'DELETE', path: '/v1/account/totp', body: {}, status: 400 },
    { method: 'POST', path: '/v1/account/totp/confirm', body: { code: '000000' }, status: 400 },
    { method: 'POST', path: '/v1/account/recovery-codes', body: {}, status: 400 },
    { method: 'GET', path: '/v1/approvals/BCDF-GHJK', status: 404 },
    { method: 'POST', path: '/v1/approvals/BCDF-GHJK', body: { decision: 'decline' }, status: 400 },
    { method: 'POST', path: '/_matrix/client/unstable/io.element.msc4388/rendezvous', body: { data: 'x' }, status: 200 },
    { method: 'POST', path: '/v1/rendezvous', body: { data: 'x' }, status: 200 },
    { method: 'POST', path: '/v1/logout', body: {}, status: 200 },
  ]

  it.each(ROUTES)('finding 15: $method $path works once with one fresh proof', async ({ method, path, body, status }) => {
    const s = await tokenSetup({ QRELAY_QUARANTINE_SECONDS: '0', QRELAY_INITIATION_REQUIRE_AUTH: 'true' })
    const answer = await dpopCall(s, method, path.replace('{self}', s.qr.device_id), s.qr.access_token, body)
    // Never a refusal of the token or of the proof: the route itself answered.
    expect(answer.body.qrelay_code, JSON.stringify(answer.body)).not.toBe('INVALID_DPOP_PROOF')
    expect(answer.body.errcode).not.toBe('M_UNKNOWN_TOKEN')
    expect(answer.status, JSON.stringify(answer.body)).toBe(status)
  })

  it('finding 15: a proof is still accepted only once', async () => {
    const s = await tokenSetup()
    const proof = await s.holder.prove('GET', 'https://relay.example/v1/devices', s.clock.now(), { accessToken: s.qr.access_token })
    const headers = { authorization: `DPoP ${s.qr.access_token}`, dpop: proof }
    expect((await s.qrSend('/v1/devices', { method: 'GET', headers })).status).toBe(200)
    const replay = await s.qrSend('/v1/devices', { method: 'GET', headers })
    expect(replay.status).toBe(401)
    expect(((await replay.json()) as { qrelay_code: string }).qrelay_code).toBe('INVALID_DPOP_PROOF')
  })
})

describe('finding 10: nothing is written for a DPoP-bound token before its proof checks out', () => {
  it('finding 10: a bound token without (or with the wrong) key does not move the device last-seen network', async () => {
    const s = await tokenSetup()
    const accountId = (await s.t.durable.accounts.findByUsername('alice'))?.id as string
    const before = await s.t.durable.devices.get(accountId, s.qr.device_id)
    expect(before?.lastSeenNetwork).toBe('198.51.100.77')
    const thief = viaApp(s.t.app, '203.0.113.66')
    const stranger = await dpopHolder()
    s.clock.advance(90_000)
    const wrongKeyProof = await stranger.prove('GET', 'https://relay.example/v1/devices', s.clock.now(), { accessToken: s.qr.access_token })
    for (const headers of <Array<Record<string, string>>>[
      { authorization: `Bearer ${s.qr.access_token}` },
      { authorization: `DPoP ${s.qr.access_token}` },
      { authorization: `DPoP ${s.qr.access_token}`, dpop: wrongKeyProof },
    ]) {
      expect((await thief('/v1/devices', { method: 'GET', headers })).status).toBe(401)
    }
    await settle()
    const after = await s.t.durable.devices.get(accountId, s.qr.device_id)
    expect(after?.lastSeenNetwork).toBe('198.51.100.77')
    expect(after?.lastSeenAtMs).toBe(before?.lastSeenAtMs)
    // The key holder's own request is still recorded.
    expect((await dpopCall({ ...s, qrSend: viaApp(s.t.app, '192.0.2.55') }, 'GET', '/v1/devices', s.qr.access_token)).status).toBe(200)
    // The last-seen write is not awaited by the request: poll for it (bounded); a fixed 5 ms flakes under load.
    await expect
      .poll(async () => (await s.t.durable.devices.get(accountId, s.qr.device_id))?.lastSeenNetwork, { timeout: 5_000, interval: 10 })
      .toBe('192.0.2.55')
  })
})

describe('finding 11: a DPoP-bound token is revoked only with a proof by its key', () => {
  it('finding 11: /oauth2/revoke without the key (no proof, another key) revokes nothing and says so', async () => {
    const s = await tokenSetup()
    const stranger = await dpopHolder()
    for (const [token, hint] of [
      [s.qr.refresh_token, 'refresh_token'],
      [s.qr.access_token, 'access_token'],
    ] as const) {
      for (const holder of [undefined, stranger]) {
        const res = await oauthForm(s, '/oauth2/revoke', { token, token_type_hint: hint }, holder)
        expect(res.status).toBe(401)
        expect(res.body.error).toBe('invalid_dpop_proof')
        expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/)
      }
    }
    // Nothing was revoked: the session still refreshes and works.
    const refreshed = await oauthForm(s, '/oauth2/token', { grant_type: 'refresh_token', refresh_token: s.qr.refresh_token }, s.holder)
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
    expect((await dpopCall(s, 'GET', '/v1/devices', refreshed.body.access_token)).status).toBe(200)
    // The key holder revokes the family: the refresh token and its access tokens die.
    expect((await oauthForm(s, '/oauth2/revoke', { token: refreshed.body.refresh_token }, s.holder)).status).toBe(200)
    expect((await dpopCall(s, 'GET', '/v1/devices', refreshed.body.access_token)).status).toBe(401)
  })

  it('finding 11: unbound (password) tokens still revoke by possession, unknown tokens still answer 200', async () => {
    const s = await tokenSetup()
    expect(
      (await oauthForm(s, '/oauth2/revoke', { token: 'AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA' })).status,
    ).toBe(200)
    expect((await oauthForm(s, '/oauth2/revoke', { token: s.bearer.refresh_token })).status).toBe(200)
    const res = await s.send('/v1/devices', { method: 'GET', headers: { authorization: `Bearer ${s.bearer.access_token}` } })
    expect(res.status).toBe(401)
  })
})

describeTransientFailures('memory', { durable: (clock) => memoryDurableStore({ clock }) })
