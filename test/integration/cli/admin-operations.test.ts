/**
 * The admin API twins of the newer operator commands through `app.request()`: the account listing
 * with its cursor, an account's security events, the signing keys (list, rotate with the old key
 * still in the JWKS, retire, never the active one) and the abuse blocks (list, lift). Each refuses
 * without the admin token and answers bad input with a 4xx that changes nothing.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { memoryKeyStore } from '../../../src/adapters/keys/keystore.ts'
import { openSigningKeys } from '../../../src/services/signing-keys.ts'
import { call, type Send } from '../../helpers/account-client.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const clock = fakeClock(Date.now())
const signingKeys = await openSigningKeys({ store: memoryKeyStore(), clock, random: seededRandom(7), retiredKeyTtlMs: 86_400_000 })
const t = makeApp({ env: TEST_ENV, clock, signingKeys, abuse: true })
const send: Send = (path, init) => Promise.resolve(t.app.request(path, init))
afterAll(async () => void (await Promise.all([t.store.close(), t.durable.close()])))

const admin = (method: string, path: string, body?: unknown) => call(send, method, path, body, ADMIN_TOKEN)
const jwksKids = async (): Promise<string[]> =>
  ((await (await t.app.request('/oauth2/jwks')).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid)

describe('admin API: operator operations', () => {
  it('lists accounts a page at a time with next_after, and refuses a bad limit or no token', async () => {
    for (const username of ['erin', 'Dora', 'carl'])
      expect((await admin('POST', '/v1/admin/users', { username, password: PASSWORD })).status).toBe(201)
    expect((await call(send, 'GET', '/v1/admin/users')).status).toBe(401)
    expect((await admin('GET', '/v1/admin/users?limit=0')).status).toBe(400)
    expect((await admin('GET', '/v1/admin/users?limit=abc')).status).toBe(400)
    const first = await admin('GET', '/v1/admin/users?limit=2')
    expect(first.body.users.map((u: { user_id: string }) => u.user_id)).toEqual(['carl', 'Dora'])
    const second = await admin('GET', `/v1/admin/users?limit=2&after=${encodeURIComponent(first.body.next_after)}`)
    expect(second.body).toMatchObject({ users: [{ user_id: 'erin', status: 'active', two_factor: 'none' }], next_after: null })
  })

  it("shows an account's security events after a cursor, operator actions included", async () => {
    expect((await admin('POST', '/v1/admin/users/erin/disable', {})).body).toMatchObject({ status: 'disabled' })
    await admin('POST', '/v1/admin/users/erin/enable', {})
    const events = await admin('GET', '/v1/admin/users/erin/events')
    expect(events.body.events.map((e: { type: string }) => e.type)).toEqual(['account_disabled', 'account_enabled'])
    expect(events.body.events[0].details).toEqual({ by: 'operator' })
    const after = await admin('GET', `/v1/admin/users/erin/events?since=${events.body.events[0].id}`)
    expect(after.body.events.map((e: { type: string }) => e.type)).toEqual(['account_enabled'])
    expect((await admin('GET', '/v1/admin/users/erin/events?since=-1')).status).toBe(400)
    expect((await admin('GET', '/v1/admin/users/nobody/events')).status).toBe(404)
  })

  it('rotates the signing key keeping the old one in the JWKS until it is retired, and never retires the active key', async () => {
    expect((await call(send, 'POST', '/v1/admin/keys/rotate', {})).status).toBe(401)
    const before = await admin('GET', '/v1/admin/keys')
    expect(before.body.store).toBe('memory')
    const [first] = before.body.keys as Array<{ kid: string; state: string }>
    expect(first?.state).toBe('active')
    const rotated = await admin('POST', '/v1/admin/keys/rotate', {})
    expect(rotated.status).toBe(200)
    expect(rotated.body.previous).toMatchObject({ kid: first?.kid, state: 'published' })
    const active = rotated.body.active.kid as string
    expect(await jwksKids()).toEqual([active, first?.kid])
    const refused = await admin('POST', `/v1/admin/keys/${active}/retire`, {})
    expect(refused.status).toBe(403)
    expect(await jwksKids()).toEqual([active, first?.kid])
    expect((await admin('POST', '/v1/admin/keys/no-such-kid/retire', {})).status).toBe(404)
    expect((await admin('POST', `/v1/admin/keys/${encodeURIComponent('bad kid!')}/retire`, {})).status).toBe(400)
    const retired = await admin('POST', `/v1/admin/keys/${first?.kid}/retire`, {})
    expect(retired.body.retired).toMatchObject({ kid: first?.kid })
    expect(await jwksKids()).toEqual([active])
    expect((await admin('GET', '/v1/admin/keys')).body.keys.map((k: { kid: string }) => k.kid)).toEqual([active])
  })

  it('lists the active network blocks with their reason and lifts one', async () => {
    const abuse = t.abuse
    if (abuse === undefined) throw new Error('the test app has no abuse guard')
    expect((await call(send, 'GET', '/v1/admin/abuse/blocks')).status).toBe(401)
    await abuse.deny('203.0.113.7', 600_000)
    await abuse.denyForAccount('asn:64500', 'a1', 300_000, ['198.51.100.1'])
    await abuse.denyForAccount('asn:64500', 'a2', 300_000, ['198.51.100.2'])
    await abuse.denyForAccount('asn:64500', 'a3', 300_000, ['198.51.100.3'])
    const listed = await admin('GET', '/v1/admin/abuse/blocks')
    expect(listed.body.blocks).toEqual([
      { network: '203.0.113.7', reason: 'explicit', denied_for_seconds: 600 },
      { network: 'asn:64500', reason: 'not_me', denied_for_seconds: 300 },
    ])
    expect((await admin('POST', '/v1/admin/abuse/lift', { network: '203.0.113.7' })).body.was_denied_for_seconds).toBe(600)
    clock.advance(300_001)
    expect((await admin('GET', '/v1/admin/abuse/blocks')).body.blocks).toEqual([])
  })
})
