/**
 * The operator's admin API on the Worker (the real entry, over the Durable Object stores): the account
 * listing merges the username index shards a page at a time, an account's security events show the
 * operator's actions, the signing keys rotate in the key object with the old key kept in the JWKS until
 * it is retired, and the abuse blocks list answers.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { call, type Send } from '../helpers/account-client.ts'

const ORIGIN = 'https://relay.example'
const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'
const PASSWORD = 'correct horse battery staple'
const send: Send = (path, init) =>
  SELF.fetch(`${ORIGIN}${path}`, { ...init, headers: { 'cf-connecting-ip': '198.51.100.9', ...(init.headers as Record<string, string>) } })
const admin = (method: string, path: string, body?: unknown) => call(send, method, path, body, ADMIN_TOKEN)

describe('workers: admin operations', () => {
  it('lists accounts across the index shards, a page at a time, and shows their events', async () => {
    const prefix = `adm${Date.now().toString(36)}`
    const names = ['c', 'a', 'b'].map((n) => `${prefix}${n}`)
    for (const username of names) expect((await admin('POST', '/v1/admin/users', { username, password: PASSWORD })).status).toBe(201)
    const seen: string[] = []
    let after: string | null = prefix
    for (let page = 0; page < 5 && after !== null; page++) {
      const listed = await admin('GET', `/v1/admin/users?limit=2&after=${encodeURIComponent(after)}`)
      expect(listed.status, JSON.stringify(listed.body)).toBe(200)
      const ours = (listed.body.users as Array<{ user_id: string }>).map((u) => u.user_id).filter((n) => n.startsWith(prefix))
      seen.push(...ours)
      after = ours.length < listed.body.users.length ? null : listed.body.next_after
    }
    expect(seen).toEqual([...names].sort())
    await admin('POST', `/v1/admin/users/${names[0]}/disable`, {})
    const events = await admin('GET', `/v1/admin/users/${names[0]}/events`)
    expect(events.body.events.map((e: { type: string }) => e.type)).toEqual(['account_disabled'])
  })

  it('rotates the signing key in the key object, keeps the old one published until retired, never retires the active one', async () => {
    const jwks = async () => ((await (await send('/oauth2/jwks', {})).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid)
    const before = await jwks()
    const rotated = await admin('POST', '/v1/admin/keys/rotate', {})
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200)
    const { active, previous } = rotated.body as { active: { kid: string }; previous: { kid: string } }
    expect(previous.kid).toBe(before[0])
    expect((await jwks()).slice(0, 2)).toEqual([active.kid, previous.kid])
    expect((await admin('POST', `/v1/admin/keys/${active.kid}/retire`, {})).status).toBe(403)
    expect((await admin('POST', `/v1/admin/keys/${previous.kid}/retire`, {})).status).toBe(200)
    expect(await jwks()).not.toContain(previous.kid)
    expect((await admin('GET', '/v1/admin/abuse/blocks')).body).toEqual({ blocks: [] })
  })
})
