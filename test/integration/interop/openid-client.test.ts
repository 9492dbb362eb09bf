/**
 * Interop with an unmodified standard OAuth client, openid-client 6 (npm), against a real server on
 * port 0: discovery (RFC 8414), device authorization naming its DPoP key with `dpop_jkt` (it sends no
 * proof there) and the channel binding as an extra parameter, DPoP-bound polling (RFC 8628 + RFC
 * 9449), a DPoP-bound resource request, refresh-token rotation, and revocation (RFC 7009). Once with
 * server DPoP nonces off and once on (openid-client retries `use_dpop_nonce` by itself).
 *
 * The approval is the existing device's, as in every QR login: it names the same channel binding and
 * key thumbprint it got over the channel (here the test knows both).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT, exportJWK } from 'jose'
import * as client from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config.ts'
import { startNodeServer, type RunningServer } from '../../../src/runtime/node-server.ts'
import { call, viaFetch } from '../../helpers/account-client.ts'
import { E2E_ENV, PASSWORD } from '../approval/e2e-harness.ts'
import { ADMIN_TOKEN } from '../accounts/flow-suite.ts'
import { withUia } from '../../helpers/account-client.ts'

const BINDING = 'C'.repeat(43)

/** Every request comes from 127.0.0.1: no proxy header. */
const { QRELAY_TRUSTED_PROXY_HEADER: _proxy, ...ENV } = E2E_ENV

describe.each([
  ['without server nonces', 'false'],
  ['with server nonces (QRELAY_DPOP_NONCE)', 'true'],
])('openid-client 6 device flow with DPoP, %s', (_name, nonce) => {
  let server: RunningServer
  let dataDir: string
  let phoneToken: string

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'qrelay-openid-client-'))
    server = await startNodeServer(parseConfig({ ...ENV, QRELAY_PORT: '0', QRELAY_DATA_DIR: dataDir, QRELAY_DPOP_NONCE: nonce }))
    const send = viaFetch(server.url)
    expect((await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const { final } = await withUia(send, 'POST', '/v1/login', { username: 'alice', initial_device_display_name: 'Phone' }, PASSWORD)
    expect(final.status, JSON.stringify(final.body)).toBe(200)
    phoneToken = final.body.access_token as string
  })
  afterAll(async () => {
    await server?.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('discovers, starts the flow with dpop_jkt, polls, refreshes with rotation and revokes', async () => {
    const issuer = new URL(server.url)
    const config = await client.discovery(issuer, 'stock-tv-app', { token_endpoint_auth_method: 'none' }, client.None(), {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    })
    const meta = config.serverMetadata()
    expect(meta.dpop_signing_alg_values_supported).toContain('ES256')
    expect(meta.device_authorization_dpop_jkt_supported).toBe(true)

    const keyPair = await client.randomDPoPKeyPair('ES256')
    const DPoP = client.getDPoPHandle(config, keyPair)
    const jkt = await DPoP.calculateThumbprint()
    const started = await client.initiateDeviceAuthorization(config, { dpop_jkt: jkt, channel_binding: BINDING })
    expect(started.user_code).toMatch(/^[A-Z]{5}-[A-Z]{5}$/)

    const polled = client.pollDeviceAuthorizationGrant(config, started, undefined, { DPoP })
    // The existing device approves what it got over the channel: the binding and the key thumbprint.
    const phone = viaFetch(server.url)
    expect((await call(phone, 'GET', `/v1/approvals/${started.user_code}`, undefined, phoneToken)).status).toBe(200)
    const approved = await call(
      phone,
      'POST',
      `/v1/approvals/${started.user_code}`,
      { decision: 'approve', channel_binding: BINDING, dpop_jkt: jkt },
      phoneToken,
    )
    expect(approved.body).toMatchObject({ status: 'approved' })
    const tokens = await polled
    expect(tokens.token_type).toBe('dpop')
    expect(typeof tokens.refresh_token).toBe('string')

    const whoami = await client.fetchProtectedResource(
      config,
      tokens.access_token,
      new URL('/v1/account/whoami', server.url),
      'GET',
      null,
      undefined,
      { DPoP },
    )
    expect(whoami.status).toBe(200)

    const rotated = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP })
    expect(rotated.refresh_token).toBeDefined()
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token)
    // A DPoP-bound refresh token does not refresh without a proof by its key.
    await expect(client.refreshTokenGrant(config, rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' })

    // openid-client 6 sends no DPoP proof to the revocation endpoint (tokenRevocation has no DPoP
    // option); a proof by the token's key is added through its customFetch hook, the documented way
    // to add headers, since qrelay asks for one when revoking a DPoP-bound token.
    const revocationUrl = meta.revocation_endpoint!
    config[client.customFetch] = async (url, options) => {
      if (url === revocationUrl) {
        const headers = new Headers(options.headers)
        headers.set('dpop', await proofFor(keyPair, 'POST', url))
        return fetch(url, { ...options, headers } as RequestInit)
      }
      return fetch(url, options as RequestInit)
    }
    await client.tokenRevocation(config, rotated.refresh_token!)
    await expect(client.refreshTokenGrant(config, rotated.refresh_token!, undefined, { DPoP })).rejects.toMatchObject({
      error: 'invalid_grant',
    })
  })
})

/** A DPoP proof by `keyPair` (for the one endpoint openid-client sends none to). */
const proofFor = async (keyPair: CryptoKeyPair, method: string, url: string): Promise<string> => {
  const { kty, crv, x, y } = await exportJWK(keyPair.publicKey)
  return new SignJWT({ htm: method, htu: url, jti: crypto.randomUUID(), iat: Math.floor(Date.now() / 1000) })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } } as never)
    .sign(keyPair.privateKey)
}
