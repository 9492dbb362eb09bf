/**
 * The account endpoints served by the Worker inside workerd (the real entry, src/runtime/workers.ts,
 * over the Durable Object durable store): register, login through UIA, whoami, refresh rotation,
 * devices, password change and logout, plus the ticket keys generated into the key object; common
 * passwords refused with the list the Worker reads from its assets. The test
 * bindings (vitest.config.ts) turn registration and the admin endpoint on and make argon2id cheap.
 */
import { env } from 'cloudflare:workers'
import { runInDurableObject, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { COMMON_PASSWORDS } from '../../src/core/auth/common-passwords.ts'
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'
import { call, login, refresh, withUia, type Send } from '../helpers/account-client.ts'

const ORIGIN = 'https://relay.example'
const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'
const PASSWORD = 'correct horse battery staple'

let client = 0
/** A client with its own address (rate limits never couple tests) and a fresh username. */
const newClient = (): { send: Send; username: string } => {
  const n = ++client
  const ip = `203.0.113.${n}`
  const send: Send = (path, init) =>
    SELF.fetch(`${ORIGIN}${path}`, { ...init, headers: { 'cf-connecting-ip': ip, ...(init.headers as Record<string, string>) } })
  return { send, username: `user${Date.now().toString(36)}x${n}` }
}

const register = async (send: Send, username: string): Promise<void> => {
  const first = await call(send, 'POST', '/v1/register', { username, password: PASSWORD })
  expect(first.status, JSON.stringify(first.body)).toBe(401)
  expect(first.body.flows).toEqual([{ stages: ['m.login.dummy'] }])
  const auth = { type: 'm.login.dummy', session: first.body.session }
  const done = await call(send, 'POST', '/v1/register', { username, password: PASSWORD, auth })
  expect(done.status, JSON.stringify(done.body)).toBe(201)
}

describe('workers: accounts', () => {
  it('registers, logs in, answers whoami, rotates the refresh token and logs out', async () => {
    const { send, username } = newClient()
    await register(send, username)
    const tokens = await login(send, username.toUpperCase(), PASSWORD)
    expect(tokens.access_token).toMatch(/^[\w-]{22}\.[\w-]{43}$/)
    const who = await call(send, 'GET', '/v1/account/whoami', undefined, tokens.access_token)
    expect(who).toMatchObject({ status: 200, body: { user_id: username, device_id: tokens.device_id } })

    const rotated = await refresh(send, tokens.refresh_token)
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200)
    expect(rotated.body).toMatchObject({ token_type: 'Bearer' })
    expect(rotated.body.refresh_token).not.toBe(tokens.refresh_token)
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, rotated.body.access_token)).status).toBe(200)
    // A duplicate inside the grace window (a retry whose answer was lost) gets the same new refresh token.
    const duplicate = await refresh(send, tokens.refresh_token)
    expect(duplicate.status, JSON.stringify(duplicate.body)).toBe(200)
    expect(duplicate.body.refresh_token).toBe(rotated.body.refresh_token)

    expect((await call(send, 'POST', '/v1/logout', {}, rotated.body.access_token)).status).toBe(200)
    const after = await call(send, 'GET', '/v1/account/whoami', undefined, rotated.body.access_token)
    expect(after).toMatchObject({ status: 401, body: { errcode: 'M_UNKNOWN_TOKEN' } })
    expect((await refresh(send, rotated.body.refresh_token)).status).toBe(400)
  })

  it('refuses a username taken in another case, and a wrong password', async () => {
    const { send, username } = newClient()
    await register(send, username)
    const again = await call(send, 'POST', '/v1/register', { username: username.toUpperCase(), password: PASSWORD })
    expect(again.body.errcode).toBe('M_USER_IN_USE')
    const wrong = await withUia(send, 'POST', '/v1/login', { username }, 'not the password at all')
    expect(wrong.final.status).toBe(401)
    expect(wrong.final.body.access_token).toBeUndefined()
  })

  it('refuses a common password with the list read from the assets, as Node does with the built-in one', async () => {
    const { send, username } = newClient()
    for (const password of ['password1234', 'QWERTYUIOP1', 'trustno123']) {
      expect(COMMON_PASSWORDS.has(password.toLowerCase())).toBe(true)
      const refused = await call(send, 'POST', '/v1/register', { username, password })
      expect(refused.status, JSON.stringify(refused.body)).toBe(400)
      expect(refused.body).toMatchObject({ errcode: 'M_WEAK_PASSWORD', error: 'the password is too common' })
    }
    await register(send, username)
  })

  it('lists devices and signs the others out when the password changes', async () => {
    const { send, username } = newClient()
    const created = await call(send, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const a = await login(send, username, PASSWORD, undefined, 'Laptop')
    const b = await login(send, username, PASSWORD, undefined, 'Phone')
    const listed = await call(send, 'GET', '/v1/devices', undefined, a.access_token)
    expect(listed.body.devices.map((d: { display_name: string }) => d.display_name)).toEqual(['Laptop', 'Phone'])
    const body = { new_password: 'a brand new passphrase' }
    const changed = await withUia(send, 'POST', '/v1/account/password', body, PASSWORD, undefined, a.access_token)
    expect(changed.final.status, JSON.stringify(changed.final.body)).toBe(200)
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, b.access_token)).status).toBe(401)
    expect((await refresh(send, b.refresh_token)).body.error).toBe('invalid_grant')
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, a.access_token)).status).toBe(200)
    await login(send, username, 'a brand new passphrase')
  })

  it('finding 21: seals TOTP keys under the keyring generated into the key object, and keeps the feed in the account object', async () => {
    const { send, username } = newClient()
    const created = await call(send, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)
    const { access_token: token } = await login(send, username, PASSWORD)
    const { final } = await withUia(send, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, token)
    const base32 = final.body.secret as string
    const key = totpSecretFromBase32(base32)
    if (!key.ok) throw new Error('bad secret')
    const confirmed = await call(send, 'POST', '/v1/account/totp/confirm', { code: generateTotp(key.value.bytes(), Date.now()) }, token)
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200)
    const stored = await runInDurableObject(env.RELAY_ACCOUNT.getByName(`acct:${created.body.account_id}`), (_o, state) =>
      state.storage.sql.exec('SELECT totp_secret FROM accounts').toArray(),
    )
    expect(String(stored[0]?.totp_secret)).toMatch(/^v1\.k1\.[\w-]+$/)
    expect(String(stored[0]?.totp_secret)).not.toContain(base32)
    expect(await env.RELAY_KEYS.getByName('secrets-keys').load()).toMatch(/^k1:[0-9a-f]{64}$/)
    const events = await call(send, 'GET', '/v1/events?since=0', undefined, token)
    // The password sign-in first (finding 40), then the 2FA change.
    expect(events.body.events.map((e: { type: string }) => e.type)).toEqual(['device_signed_in', 'totp_enabled'])
    expect(events.body.events[0].details).toEqual({ origin: 'password', device_name: 'Test device' })
    const rows = await runInDurableObject(env.RELAY_ACCOUNT.getByName(`acct:${created.body.account_id}`), (_o, state) =>
      state.storage.sql.exec('SELECT type FROM security_events').toArray(),
    )
    expect(rows.map((r) => r.type)).toEqual(['device_signed_in', 'totp_enabled'])
  })

  it('answers a long poll on /v1/events with the event another request causes meanwhile', async () => {
    const { send, username } = newClient()
    await call(send, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)
    const { access_token: token } = await login(send, username, PASSWORD)
    const other = await login(send, username, PASSWORD)
    // After the two sign-ins' own events.
    const { next_since: since } = (await call(send, 'GET', '/v1/events?since=0', undefined, token)).body
    const polled = call(send, 'GET', `/v1/events?since=${since}&timeout_ms=5000`, undefined, token)
    await new Promise((resolve) => setTimeout(resolve, 200))
    const revoked = await call(send, 'DELETE', `/v1/admin/users/${username}/devices/${other.device_id}`, undefined, ADMIN_TOKEN)
    expect(revoked.status, JSON.stringify(revoked.body)).toBeLessThan(300)
    const events = await polled
    expect(events.status, JSON.stringify(events.body)).toBe(200)
    expect(events.body.events.map((e: { type: string }) => e.type)).toEqual(['device_revoked'])
  })

  it('publishes the ticket signing key it generated and keeps it', async () => {
    const first = await SELF.fetch(`${ORIGIN}/oauth2/jwks`)
    expect(first.status).toBe(200)
    const { keys } = (await first.json()) as { keys: Array<{ kid: string; kty: string; d?: string }> }
    expect(keys).toHaveLength(1)
    expect(keys[0]?.d).toBeUndefined()
    const again = (await (await SELF.fetch(`${ORIGIN}/oauth2/jwks`)).json()) as { keys: Array<{ kid: string }> }
    expect(again.keys.map((k) => k.kid)).toEqual([keys[0]?.kid])
  })

  it('finding 2: 60 concurrent password guesses on the Worker check at most the account limit; the right one after them is refused', async () => {
    const { send, username } = newClient()
    const created = await call(send, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)
    expect(created.status).toBe(201)
    const first = await call(send, 'POST', '/v1/login', { username })
    const session = first.body.session as string
    const guess = (password: string) => call(send, 'POST', '/v1/login', { username, auth: { type: 'm.login.password', session, password } })
    // Wrong guesses only: which of concurrent requests reserves first is up to the runtime, and a right
    // password that gets a slot within the limit is rightly let in.
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => guess(`wrong password ${i}`)))
    // Each checked guess answers 401 (wrong); a guess over the limit answers 429 unchecked.
    expect(answers.filter((a) => a.status === 401).length).toBeLessThanOrEqual(10)
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(50)
    // The budget is spent: the right password is refused unchecked.
    expect((await guess(PASSWORD)).status).toBe(429)
  })
})
