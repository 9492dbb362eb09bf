/**
 * `POST /oauth2/device_authorization` through app.request(): DPoP-signed, channel-bound grants stored
 * in the ephemeral store and findable by either code; every bad request gets an RFC 6749 error.
 */
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { normalizeUserCode } from '../../../src/core/oauth/user-code.ts'
import { isGrantExpired } from '../../../src/core/oauth/device-grant.ts'
import { deviceGrantsService } from '../../../src/services/device-grants.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../../helpers/make-app.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const URL_ = 'https://relay.example/oauth2/device_authorization'
const BINDING = 'A'.repeat(43)

interface Holder {
  privateKey: CryptoKey
  jwk: JWK
  jkt: string
}

const holder = async (): Promise<Holder> => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(publicKey)
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') }
}

let jtiCounter = 0
const prove = (t: TestApp, h: Holder, jti = `jti-${++jtiCounter}`): Promise<string> =>
  new SignJWT({ jti, htm: 'POST', htu: URL_, iat: Math.floor(t.clock.now() / 1000) })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: h.jwk })
    .sign(h.privateKey)

const authorize = (t: TestApp, form: Record<string, string>, dpop?: string) =>
  t.app.request('/oauth2/device_authorization', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-test-peer': '203.0.113.9',
      ...(dpop === undefined ? {} : { dpop }),
    },
    body: new URLSearchParams(form).toString(),
  })

const newApp = (env: Record<string, string> = {}) => makeApp({ env, clock: fakeClock(Date.UTC(2026, 10, 22)) })

describe('device authorization endpoint', () => {
  it('issues codes bound to the proof key and the channel when the request is well formed', async () => {
    const t = newApp()
    const h = await holder()
    const res = await authorize(t, { channel_binding: BINDING, device_name: 'Living-room TV' }, await prove(t, h))
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = (await res.json()) as Record<string, unknown>
    expect(body.user_code).toMatch(/^[A-Z]{5}-[A-Z]{5}$/)
    expect(body.verification_uri).toBe('https://relay.example/approve')
    expect(body.verification_uri_complete).toBe(`https://relay.example/approve?user_code=${body.user_code as string}`)
    expect(body.expires_in).toBe(300)
    expect(body.interval).toBe(5)
    const grants = deviceGrantsService({ kv: t.store.kv, clock: t.clock, random: seededRandom(1), limits: t.config.oauth })
    const byDevice = await grants.findByDeviceCode(body.device_code as string)
    const byUser = await grants.findByUserCode(normalizeUserCode(body.user_code as string) as string)
    expect(byDevice?.grant.id).toBeDefined()
    expect(byUser?.grant.id).toBe(byDevice?.grant.id)
    const grant = byDevice!.grant
    expect(grant.dpopJkt).toBe(h.jkt)
    expect(grant.channelBinding).toBe(BINDING)
    expect(grant.requestedDeviceName).toBe('Living-room TV')
    expect(grant.state.kind).toBe('pending')
    expect(grant.networks).toEqual([{ source: 'device_authorization', atMs: t.clock.now(), ip: '203.0.113.9' }])
    // Codes are stored hashed only.
    expect(byDevice!.raw).not.toContain(body.device_code as string)
  })

  it('expires the grant at its configured lifetime and forgets it ten minutes later', async () => {
    const t = newApp({ QRELAY_GRANT_TTL_SECONDS: '60', QRELAY_POLL_INTERVAL_SECONDS: '7' })
    const res = await authorize(t, { channel_binding: BINDING }, await prove(t, await holder()))
    const body = (await res.json()) as Record<string, unknown>
    expect(body.expires_in).toBe(60)
    expect(body.interval).toBe(7)
    const grants = deviceGrantsService({ kv: t.store.kv, clock: t.clock, random: seededRandom(1), limits: t.config.oauth })
    t.clock.advance(60_000)
    const expired = await grants.findByDeviceCode(body.device_code as string)
    expect(expired === null ? null : isGrantExpired(expired.grant, t.clock.now())).toBe(true)
    t.clock.advance(10 * 60_000)
    expect(await grants.findByDeviceCode(body.device_code as string)).toBeNull()
  })

  it('refuses the request when the DPoP proof is missing, replayed or for another endpoint', async () => {
    const t = newApp()
    const h = await holder()
    const missing = await authorize(t, { channel_binding: BINDING })
    expect(missing.status).toBe(400)
    expect(((await missing.json()) as { error: string }).error).toBe('invalid_dpop_proof')
    const proof = await prove(t, h, 'same-jti')
    expect((await authorize(t, { channel_binding: BINDING }, proof)).status).toBe(200)
    const replayed = await authorize(t, { channel_binding: BINDING }, proof)
    expect(replayed.status).toBe(400)
    expect(await replayed.json()).toMatchObject({ error: 'invalid_dpop_proof', error_description: 'this DPoP proof was already used' })
    const other = await new SignJWT({
      jti: 'x1',
      htm: 'POST',
      htu: 'https://relay.example/oauth2/token',
      iat: Math.floor(t.clock.now() / 1000),
    })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: h.jwk })
      .sign(h.privateKey)
    expect(((await (await authorize(t, { channel_binding: BINDING }, other)).json()) as { error: string }).error).toBe('invalid_dpop_proof')
  })

  it('refuses the request when the channel binding or device name is malformed', async () => {
    const t = newApp()
    const h = await holder()
    const forms: Record<string, string>[] = [
      {},
      { channel_binding: 'short' },
      { channel_binding: `${'A'.repeat(42)}=` },
      { channel_binding: BINDING, device_name: 'x'.repeat(101) },
    ]
    for (const form of forms) {
      const res = await authorize(t, form, await prove(t, h))
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: string }).error).toBe('invalid_request')
    }
  })

  it('refuses the request when the body is not a form or repeats a parameter', async () => {
    const t = newApp()
    const h = await holder()
    const json = await t.app.request('/oauth2/device_authorization', {
      method: 'POST',
      headers: { 'content-type': 'application/json', dpop: await prove(t, h) },
      body: JSON.stringify({ channel_binding: BINDING }),
    })
    expect(json.status).toBe(400)
    const twice = await t.app.request('/oauth2/device_authorization', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await prove(t, h) },
      body: `channel_binding=${BINDING}&channel_binding=${BINDING}`,
    })
    expect(((await twice.json()) as { error: string }).error).toBe('invalid_request')
    expect((await t.app.request('/oauth2/device_authorization')).status).toBe(405)
  })
})
