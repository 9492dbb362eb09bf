/**
 * RFC 8414 server metadata through app.request(): what is advertised exists, what does not exist is
 * left out.
 */
import { describe, expect, it } from 'vitest'
import { memoryKeyStore } from '../../../src/adapters/keys/keystore.ts'
import { DEVICE_CODE_GRANT_TYPE, oauthMetadata } from '../../../src/http/routes/oauth-metadata.ts'
import { openSigningKeys } from '../../../src/services/signing-keys.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const PATH = '/.well-known/oauth-authorization-server'

describe('oauth server metadata', () => {
  it('names the issuer, token endpoint, jwks and DPoP algorithms when the server has them', async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 22))
    const signingKeys = await openSigningKeys({ store: memoryKeyStore(), clock, random: seededRandom(3), retiredKeyTtlMs: 86_400_000 })
    const t = makeApp({ clock, signingKeys })
    const res = await t.app.request(PATH)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const body = (await res.json()) as Record<string, unknown>
    expect(body.issuer).toBe('https://relay.example')
    expect(body.token_endpoint).toBe('https://relay.example/oauth2/token')
    expect(body.jwks_uri).toBe('https://relay.example/oauth2/jwks')
    expect(body.grant_types_supported).toContain('refresh_token')
    expect(body.dpop_signing_alg_values_supported).toEqual(['ES256', 'EdDSA'])
    expect(body.grant_types_supported).toContain('urn:ietf:params:oauth:grant-type:device_code')
    expect(body.device_authorization_endpoint).toBe('https://relay.example/oauth2/device_authorization')
    // Introspection needs configured resource-server credentials; revocation is open to token holders.
    expect(body).not.toHaveProperty('introspection_endpoint')
    expect(body.revocation_endpoint).toBe('https://relay.example/oauth2/revoke')
    // Every advertised endpoint on this server is really routed.
    const jwks = await t.app.request('/oauth2/jwks')
    expect(jwks.status).toBe(200)
  })

  it('leaves out the jwks uri when the server has no signing keys', async () => {
    const t = makeApp()
    const body = (await (await t.app.request(PATH)).json()) as Record<string, unknown>
    expect(body).not.toHaveProperty('jwks_uri')
  })

  it('uses the request origin as issuer when no public base url is configured', async () => {
    const t = makeApp({ env: { QRELAY_PUBLIC_BASE_URL: '' } })
    const body = (await (await t.app.request(`http://localhost:8080${PATH}`)).json()) as Record<string, unknown>
    expect(body.issuer).toBe('http://localhost:8080')
    expect(body.token_endpoint).toBe('http://localhost:8080/oauth2/token')
  })

  it('refuses other methods when the metadata is posted to', async () => {
    const t = makeApp()
    expect((await t.app.request(PATH, { method: 'POST' })).status).toBe(405)
  })

  it('advertises the device code grant and endpoint only when device authorization exists', () => {
    const base = { publicBaseUrl: undefined, token: true, jwks: false, introspection: false, revocation: false }
    const without = oauthMetadata('https://a.example', { ...base, deviceAuthorization: false })
    expect(without).not.toHaveProperty('device_authorization_endpoint')
    expect(without.grant_types_supported).not.toContain(DEVICE_CODE_GRANT_TYPE)
    const withDevice = oauthMetadata('https://a.example', { ...base, deviceAuthorization: true })
    expect(withDevice.device_authorization_endpoint).toBe('https://a.example/oauth2/device_authorization')
    expect(withDevice.grant_types_supported).toEqual([DEVICE_CODE_GRANT_TYPE, 'refresh_token'])
  })

  it('advertises no token endpoint when the server has no accounts', () => {
    const body = oauthMetadata('https://a.example', {
      publicBaseUrl: undefined,
      token: false,
      deviceAuthorization: false,
      jwks: false,
      introspection: false,
      revocation: false,
    })
    expect(body).not.toHaveProperty('token_endpoint')
    expect(body.grant_types_supported).toEqual([])
  })
})
