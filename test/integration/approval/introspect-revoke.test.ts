/**
 * RFC 7662 introspection (resource servers, HTTP Basic) and RFC 7009 revocation (token holders),
 * through app.request(), for password sessions and DPoP-bound QR sessions.
 */
import { describe, expect, it } from 'vitest'
import { call, login, refresh, viaApp } from '../../helpers/account-client.ts'
import { dpopHolder } from '../../helpers/dpop.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { bindingOf, decide, pollToken, requestGrant } from '../../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const RS_SECRET = 'rs-secret-0123456789abcdef0123456789'
const basic = (id: string, secret: string) => `Basic ${btoa(`${id}:${secret}`)}`

const setup = async (env: Record<string, string> = { QRELAY_INTROSPECTION_CLIENTS: `rs1:${RS_SECRET}` }) => {
  const t = makeApp({ env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', ...env }, clock: fakeClock(Date.UTC(2026, 10, 22)) })
  const send = viaApp(t.app, '198.51.100.20')
  expect((await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
  const tokens = await login(send, 'alice', PASSWORD)
  const form = async (path: string, fields: Record<string, string>, authorization?: string) => {
    const res = await send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization === undefined ? {} : { authorization }) },
      body: new URLSearchParams(fields).toString(),
    })
    const text = await res.text()
    return { status: res.status, headers: res.headers, body: (text === '' ? {} : JSON.parse(text)) as Record<string, any> }
  }
  const introspect = (token: string, auth: string | null = basic('rs1', RS_SECRET)) =>
    form('/oauth2/introspect', { token }, auth ?? undefined)
  return { t, send, tokens, form, introspect }
}

describe('token introspection (RFC 7662)', () => {
  it('describes an active access token and its refresh token to an authenticated resource server', async () => {
    const { tokens, introspect, t } = await setup()
    const access = await introspect(tokens.access_token)
    expect(access).toMatchObject({
      status: 200,
      body: { active: true, token_type: 'Bearer', username: 'alice', device_id: tokens.device_id },
    })
    expect(access.body.exp).toBe(Math.floor(t.clock.now() / 1000) + 300)
    expect(access.body.cnf).toBeUndefined()
    expect((await introspect(tokens.refresh_token)).body).toMatchObject({ active: true, username: 'alice' })
  })

  it('refuses callers without valid client credentials (401, WWW-Authenticate: Basic)', async () => {
    const { tokens, introspect } = await setup()
    for (const auth of [null, basic('rs1', 'wrong-secret-0123456789abcdef0123456'), basic('rs2', RS_SECRET), 'Bearer x']) {
      const res = await introspect(tokens.access_token, auth)
      expect(res.status).toBe(401)
      expect(res.body.error).toBe('invalid_client')
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic/)
    }
  })

  it('answers only {active:false} for unknown, malformed, tampered, revoked or disabled-account tokens', async () => {
    const { tokens, introspect, send, form } = await setup()
    const [id, secret] = (tokens.access_token as string).split('.') as [string, string]
    for (const token of ['nope', 'a.b', `${id}.${secret.slice(0, -2)}xx`]) expect((await introspect(token)).body).toEqual({ active: false })
    await call(send, 'POST', '/v1/logout', {}, tokens.access_token)
    expect((await introspect(tokens.access_token)).body).toEqual({ active: false })
    const again = await login(send, 'alice', PASSWORD)
    expect((await introspect(again.access_token)).body.active).toBe(true)
    await call(send, 'POST', '/v1/admin/users/alice/disable', {}, ADMIN_TOKEN)
    expect((await introspect(again.access_token)).body).toEqual({ active: false })
    expect((await form('/oauth2/introspect', {}, basic('rs1', RS_SECRET))).body.error).toBe('invalid_request')
  })

  it('reports the DPoP binding (cnf.jkt) of a QR-minted token', async () => {
    const { t, send, tokens, introspect } = await setup()
    const holder = await dpopHolder()
    const newDevice = viaApp(t.app, '198.51.100.77')
    const { codes } = await requestGrant(newDevice, holder, t.clock.now(), { channel_binding: bindingOf('I') })
    await decide(send, tokens.access_token, codes.user_code, { decision: 'approve', channel_binding: bindingOf('I'), dpop_jkt: holder.jkt })
    const minted = await pollToken(newDevice, holder, t.clock.now(), codes.device_code)
    expect((await introspect(minted.body.access_token)).body).toMatchObject({
      active: true,
      token_type: 'DPoP',
      scope: 'device',
      cnf: { jkt: holder.jkt },
    })
  })

  it('does not exist, and is not advertised, without configured clients', async () => {
    const { t, tokens, introspect } = await setup({})
    expect((await introspect(tokens.access_token)).status).toBe(404)
    const metadata = (await (await t.app.request('/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>
    expect(metadata.introspection_endpoint).toBeUndefined()
    expect(metadata.revocation_endpoint).toBe('https://relay.example/oauth2/revoke')
  })
})

describe('token revocation (RFC 7009)', () => {
  it('revoking an access token signs its device out: the refresh token dies with it (MSC4254)', async () => {
    const { send, tokens, form } = await setup()
    expect((await form('/oauth2/revoke', { token: tokens.access_token, token_type_hint: 'access_token' })).status).toBe(200)
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, tokens.access_token)).status).toBe(401)
    expect((await refresh(send, tokens.refresh_token)).body.error).toBe('invalid_grant')
  })

  it('revokes a refresh token with its family and the access tokens minted from it', async () => {
    const { send, tokens, form } = await setup()
    expect((await form('/oauth2/revoke', { token: tokens.refresh_token })).status).toBe(200)
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, tokens.access_token)).status).toBe(401)
    expect((await refresh(send, tokens.refresh_token)).body.error).toBe('invalid_grant')
  })

  it('answers 200 and revokes nothing for unknown tokens or a guessed id with the wrong secret', async () => {
    const { send, tokens, form } = await setup()
    const [id] = (tokens.access_token as string).split('.') as [string]
    for (const token of ['unknown', `${id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`]) {
      expect((await form('/oauth2/revoke', { token })).status).toBe(200)
    }
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, tokens.access_token)).status).toBe(200)
    expect((await form('/oauth2/revoke', {})).body.error).toBe('invalid_request')
  })
})
