/**
 * Finding 45 (owner protections, docs/security/owner-protections.md): an RFC 7009 revocation of a
 * device session's token is that device's sign-out (MSC4254, how Matrix OAuth clients log out),
 * through app.request() with the fake clock, on memory and SQLite. Every token of the device dies at
 * once, the device leaves the owner's list, and `device_signed_out` (`via: "token_revocation"`) is in
 * the feed and the webhook, once. Finding 11 holds: a DPoP-bound token needs a proof by its key.
 * Finding 46: a rotated-out refresh token presented again after the grace (RFC 9700 §4.14.2: a theft
 * signal) signs its device out the same way (`via: "refresh_token_reuse"`), so that the owner sees it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { memoryWebhookOutbox } from '../../src/adapters/durable/memory-webhook-outbox.ts'
import { openSqlite, sqliteStore } from '../../src/adapters/durable/sqlite.ts'
import { silentLogger } from '../../src/adapters/platform/node.ts'
import type { DurableStore } from '../../src/ports.ts'
import { webhookSecurityEvents } from '../../src/services/webhooks.ts'
import { call, login, viaApp, withUia, type Send } from '../helpers/account-client.ts'
import { dpopHolder, type DpopHolder } from '../helpers/dpop.ts'
import { fakeClock, type FakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { drainWebhooks } from '../helpers/webhook-outbox.ts'
import { BASE, bindingOf, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { seededRandom } from '../helpers/seeded-random.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const RS_SECRET = 'rs-secret-0123456789abcdef0123456789'
const HOME = '198.51.100.20'
const START = Date.UTC(2026, 10, 23, 8, 0)

const root = mkdtempSync(join(tmpdir(), 'qrelay-revocation-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let serial = 0

/** One signed-in device: its tokens, where it calls from and, for a QR session, its DPoP key. */
interface Session {
  deviceId: string
  name: string
  access: string
  refresh: string
  send: Send
  holder?: DpopHolder
}

const form = async (send: Send, path: string, fields: Record<string, string>, headers: Record<string, string> = {}) => {
  const res = await send(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  })
  const text = await res.text()
  return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, any> }
}

/** Alice's phone (the device that looks), a laptop signed in with the password and a TV signed in by QR (DPoP-bound). */
const setup = async (durable?: (clock: FakeClock) => DurableStore) => {
  const outbox = memoryWebhookOutbox()
  const clock = fakeClock(START)
  const t = makeApp({
    env: {
      ...TEST_ENV,
      QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
      QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown',
      QRELAY_INTROSPECTION_CLIENTS: `rs1:${RS_SECRET}`,
    },
    clock,
    sinks: (c) => [webhookSecurityEvents({ outbox, clock: c, random: seededRandom(45), logger: silentLogger })],
    ...(durable === undefined ? {} : { durable }),
  })
  const owner = viaApp(t.app, HOME)
  await call(owner, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
  const phone = await login(owner, 'alice', PASSWORD, undefined, 'Phone')
  const laptopSend = viaApp(t.app, '192.0.2.80')
  const laptop = await login(laptopSend, 'alice', PASSWORD, undefined, 'Laptop')
  const holder = await dpopHolder()
  const tvSend = viaApp(t.app, '198.51.100.77')
  const { codes } = await requestGrant(tvSend, holder, clock.now(), { channel_binding: bindingOf('T'), device_name: 'TV' })
  const approval = { decision: 'approve' as const, channel_binding: bindingOf('T'), dpop_jkt: holder.jkt }
  expect((await decide(owner, phone.access_token, codes.user_code, approval)).status).toBe(200)
  const tv = await pollToken(tvSend, holder, clock.now(), codes.device_code)
  expect(tv.status, JSON.stringify(tv.body)).toBe(200)
  const sessions: Record<'password' | 'qr', Session> = {
    password: { deviceId: laptop.device_id, name: 'Laptop', access: laptop.access_token, refresh: laptop.refresh_token, send: laptopSend },
    qr: { deviceId: tv.body.device_id, name: 'TV', access: tv.body.access_token, refresh: tv.body.refresh_token, send: tvSend, holder },
  }
  const since = (await call(owner, 'GET', '/v1/events', undefined, phone.access_token)).body.next_since as number
  /** Every webhook waiting, delivered, in order. */
  const webhooks = () => drainWebhooks(outbox, clock.now())

  await webhooks()
  const proofFor = async (s: Session, path: string, holder = s.holder): Promise<Record<string, string>> =>
    holder === undefined ? {} : { dpop: await holder.prove('POST', `${BASE}${path}`, clock.now()) }
  return {
    t,
    owner,
    phone,
    sessions,
    webhooks,
    /** `POST /oauth2/revoke` from the session's device, with a proof by its key when it has one (or by `holder`). */
    revoke: async (s: Session, token: string, hint?: string, holder = s.holder) =>
      form(
        s.send,
        '/oauth2/revoke',
        { token, ...(hint === undefined ? {} : { token_type_hint: hint }) },
        await proofFor(s, '/oauth2/revoke', holder),
      ),
    refresh: async (s: Session, token: string) =>
      form(s.send, '/oauth2/token', { grant_type: 'refresh_token', refresh_token: token }, await proofFor(s, '/oauth2/token')),
    active: async (token: string) =>
      (await form(owner, '/oauth2/introspect', { token }, { authorization: `Basic ${btoa(`rs1:${RS_SECRET}`)}` })).body.active as boolean,
    /** The device ids the phone sees in `GET /v1/devices`. */
    listed: async () =>
      ((await call(owner, 'GET', '/v1/devices', undefined, phone.access_token)).body.devices as Array<{ device_id: string }>).map(
        (d) => d.device_id,
      ),
    /** The account's feed since the setup, as the phone reads it. */
    news: async () =>
      (await call(owner, 'GET', `/v1/events?since=${since}`, undefined, phone.access_token)).body.events as Array<Record<string, any>>,
    since,
  }
}

const revocationOf = (s: Session) => ({ by_device: s.deviceId, self: true, device_name: s.name, via: 'token_revocation' })

const STORES: ReadonlyArray<[string, ((clock: FakeClock) => DurableStore) | undefined]> = [
  ['memory', undefined],
  ['sqlite', (clock) => sqliteStore({ db: openSqlite(join(root, `db-${serial++}`)), clock })],
]

for (const [store, durable] of STORES) {
  describe(`finding 45: an RFC 7009 revocation signs the device out (MSC4254), ${store}`, () => {
    it.each([
      ['password', 'access'],
      ['password', 'refresh'],
      ['qr', 'access'],
      ['qr', 'refresh'],
    ] as const)(
      'finding 45: a %s session revoking its %s token is signed out: every token of the device dies, it leaves the list, one device_signed_out in the feed and the webhook',
      async (kind, which) => {
        const s = await setup(durable)
        const session = s.sessions[kind]
        // A second access token and a rotated refresh token of the same device, so that all of them are seen to die.
        const refreshed = await s.refresh(session, session.refresh)
        expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
        const tokens = [session.access, refreshed.body.access_token as string, refreshed.body.refresh_token as string]
        for (const token of tokens) expect(await s.active(token)).toBe(true)
        const token = which === 'access' ? (refreshed.body.access_token as string) : (refreshed.body.refresh_token as string)
        expect((await s.revoke(session, token, `${which}_token`)).status).toBe(200)

        // Before: an access token's revocation left the refresh family alive (and the device listed).
        for (const other of tokens) expect(await s.active(other)).toBe(false)
        expect((await s.refresh(session, refreshed.body.refresh_token as string)).body.error).toBe('invalid_grant')
        // Before: a refresh token's revocation left the device in the list, and nobody was told.
        expect(await s.listed()).toEqual(expect.not.arrayContaining([session.deviceId]))
        expect(await s.listed()).toContain(s.phone.device_id)
        const news = (await s.news()).filter((e) => e.type !== 'device_signed_in')
        expect(news).toEqual([
          expect.objectContaining({ type: 'device_signed_out', device_id: session.deviceId, details: revocationOf(session) }),
        ])
        expect(await s.webhooks()).toEqual([
          expect.objectContaining({
            type: 'security.device_signed_out',
            data: expect.objectContaining({ device_id: session.deviceId, details: revocationOf(session) }),
          }),
        ])
      },
    )

    it('finding 45: the page feed words a sign-out by token revocation (en, de)', async () => {
      const s = await setup(durable)
      expect((await s.revoke(s.sessions.password, s.sessions.password.refresh)).status).toBe(200)
      const feed = async (lang: string) => {
        const res = await s.t.app.request(`${BASE}/account/events?since=${s.since}&lang=${lang}`, {
          headers: { cookie: `__Host-qrelay-page=${s.phone.access_token}`, 'x-test-peer': HOME },
        })
        return ((await res.json()) as { events: Array<{ text: string }> }).events.map((e) => e.text)
      }
      expect(await feed('en')).toEqual(['“Laptop” was signed out: its token was revoked.'])
      expect(await feed('de')).toEqual(['“Laptop” wurde abgemeldet: sein Token wurde widerrufen.'])
    })

    it('finding 45: revoking twice, both tokens, reports one sign-out', async () => {
      const s = await setup(durable)
      const { password, qr } = s.sessions
      for (const session of [password, qr]) {
        expect((await s.revoke(session, session.access)).status).toBe(200)
        expect((await s.revoke(session, session.access)).status).toBe(200)
        expect((await s.revoke(session, session.refresh, 'refresh_token')).status).toBe(200)
      }
      expect((await s.news()).filter((e) => e.type !== 'device_signed_in').map((e) => [e.type, e.device_id, e.details])).toEqual([
        ['device_signed_out', password.deviceId, revocationOf(password)],
        ['device_signed_out', qr.deviceId, revocationOf(qr)],
      ])
      expect((await s.webhooks()).map((w) => [w.type, w.data.device_id])).toEqual([
        ['security.device_signed_out', password.deviceId],
        ['security.device_signed_out', qr.deviceId],
      ])
    })

    it("finding 45: a bound token without its key's proof (none, another key) is 401 and changes nothing; an unknown token is 200 and changes nothing", async () => {
      const s = await setup(durable)
      const { qr, password } = s.sessions
      const stranger = await dpopHolder()
      for (const [token, hint] of [
        [qr.access, 'access_token'],
        [qr.refresh, 'refresh_token'],
      ] as const) {
        for (const holder of [undefined, stranger]) {
          const res = await form(
            qr.send,
            '/oauth2/revoke',
            { token, token_type_hint: hint },
            holder === undefined ? {} : { dpop: await holder.prove('POST', `${BASE}/oauth2/revoke`, s.t.clock.now()) },
          )
          expect(res).toMatchObject({ status: 401, body: { error: 'invalid_dpop_proof' } })
        }
      }
      const [id] = password.access.split('.') as [string]
      for (const token of [
        'unknown',
        `${id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`,
        'AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA',
      ]) {
        expect((await s.revoke(password, token)).status).toBe(200)
      }
      for (const token of [qr.access, qr.refresh, password.access, password.refresh]) expect(await s.active(token)).toBe(true)
      expect(await s.listed()).toEqual(expect.arrayContaining([qr.deviceId, password.deviceId]))
      expect((await s.news()).filter((e) => e.type !== 'device_signed_in')).toEqual([])
      expect(await s.webhooks()).toEqual([])
    })

    it('finding 45: revoking the tokens of a device another device already signed out reports nothing more', async () => {
      const s = await setup(durable)
      const { password } = s.sessions
      const { final } = await withUia(s.owner, 'DELETE', `/v1/devices/${password.deviceId}`, {}, PASSWORD, undefined, s.phone.access_token)
      expect(final.status, JSON.stringify(final.body)).toBe(200)
      expect((await s.revoke(password, password.access)).status).toBe(200)
      expect((await s.revoke(password, password.refresh)).status).toBe(200)
      expect((await s.news()).filter((e) => e.type !== 'device_signed_in').map((e) => [e.type, e.details])).toEqual([
        ['device_signed_out', { by_device: s.phone.device_id, self: false, device_name: 'Laptop' }],
      ])
      expect((await s.webhooks()).map((w) => w.type)).toEqual(['security.device_signed_out'])
    })

    it('finding 45: the page hand-over is not a sign-out: the device stays, nothing is reported', async () => {
      const s = await setup(durable)
      const { password, qr } = s.sessions
      // The hand-over trades the TV's bound family for unbound tokens of the same device.
      const url = `${BASE}/login/session`
      const handed = await s.t.app.request(url, {
        method: 'POST',
        headers: {
          origin: BASE,
          'x-test-peer': '198.51.100.77',
          authorization: `DPoP ${qr.access}`,
          dpop: await (qr.holder as DpopHolder).prove('POST', url, s.t.clock.now(), { accessToken: qr.access }),
        },
      })
      expect(handed.status).toBe(204)
      expect(await s.active(qr.refresh)).toBe(false)
      expect(await s.listed()).toEqual(expect.arrayContaining([password.deviceId, qr.deviceId]))
      expect((await s.news()).filter((e) => e.type === 'device_signed_out')).toEqual([])
    })
  })

  describe(`finding 46: a reused refresh token signs its device out and tells the owner, ${store}`, () => {
    it.each(['password', 'qr'] as const)(
      'finding 46: a %s session whose rotated-out refresh token comes back after the grace is signed out: its live tokens die, it leaves the list, one device_signed_out (refresh_token_reuse) in the feed and the webhook',
      async (kind) => {
        const s = await setup(durable)
        const session = s.sessions[kind]
        const rotated = await s.refresh(session, session.refresh)
        expect(rotated.status, JSON.stringify(rotated.body)).toBe(200)
        const live = [rotated.body.access_token as string, rotated.body.refresh_token as string]
        s.t.clock.advance(s.t.config.auth.refreshGraceMs + 1000)
        // The copy of the old token (a thief's, or the device's own after a restore) comes back.
        const replay = await s.refresh(session, session.refresh)
        expect(replay.body.error).toBe('invalid_grant')
        for (const token of live) expect(await s.active(token)).toBe(false)
        // Before: the device stayed listed with no live token, and the owner was never told.
        expect(await s.listed()).toEqual(expect.not.arrayContaining([session.deviceId]))
        const reuseOf = { by_device: session.deviceId, self: true, device_name: session.name, via: 'refresh_token_reuse' }
        expect((await s.news()).filter((e) => e.type !== 'device_signed_in')).toEqual([
          expect.objectContaining({ type: 'device_signed_out', device_id: session.deviceId, details: reuseOf }),
        ])
        expect(await s.webhooks()).toEqual([
          expect.objectContaining({
            type: 'security.device_signed_out',
            data: expect.objectContaining({ device_id: session.deviceId, details: reuseOf }),
          }),
        ])
        // A second replay finds the family revoked: nothing more is reported.
        expect((await s.refresh(session, session.refresh)).body.error).toBe('invalid_grant')
        expect((await s.refresh(session, rotated.body.refresh_token as string)).body.error).toBe('invalid_grant')
        expect((await s.news()).filter((e) => e.type === 'device_signed_out')).toHaveLength(1)
        expect(await s.webhooks()).toEqual([])
      },
    )

    it('finding 46: a retry within the grace (a lost answer) gets the same successor and signs nothing out', async () => {
      const s = await setup(durable)
      const { password } = s.sessions
      const first = await s.refresh(password, password.refresh)
      const retry = await s.refresh(password, password.refresh)
      expect(first.status).toBe(200)
      expect(retry.status).toBe(200)
      expect(retry.body.refresh_token).toBe(first.body.refresh_token)
      expect(await s.listed()).toContain(password.deviceId)
      expect((await s.news()).filter((e) => e.type === 'device_signed_out')).toEqual([])
    })

    it("finding 46: a bound family's old token without the key's proof revokes nothing and signs nothing out", async () => {
      const s = await setup(durable)
      const { qr } = s.sessions
      expect((await s.refresh(qr, qr.refresh)).status).toBe(200)
      s.t.clock.advance(s.t.config.auth.refreshGraceMs + 1000)
      const stolen = await form(qr.send, '/oauth2/token', { grant_type: 'refresh_token', refresh_token: qr.refresh })
      expect(stolen.status).toBeGreaterThanOrEqual(400)
      expect(await s.listed()).toContain(qr.deviceId)
      expect((await s.news()).filter((e) => e.type === 'device_signed_out')).toEqual([])
    })

    it('finding 46: the page feed words a sign-out after a reuse (en, de)', async () => {
      const s = await setup(durable)
      const { password } = s.sessions
      expect((await s.refresh(password, password.refresh)).status).toBe(200)
      s.t.clock.advance(s.t.config.auth.refreshGraceMs + 1000)
      expect((await s.refresh(password, password.refresh)).body.error).toBe('invalid_grant')
      const feed = async (lang: string) => {
        const res = await s.t.app.request(`${BASE}/account/events?since=${s.since}&lang=${lang}`, {
          headers: { cookie: `__Host-qrelay-page=${s.phone.access_token}`, 'x-test-peer': HOME },
        })
        return ((await res.json()) as { events: Array<{ text: string }> }).events.map((e) => e.text)
      }
      expect(await feed('en')).toEqual([
        '“Laptop” was signed out: an old sign-in token of it was used again, as happens when a copy is stolen.',
      ])
      expect(await feed('de')).toEqual([
        '“Laptop” wurde abgemeldet: ein altes Anmeldetoken wurde erneut benutzt, wie es bei einer gestohlenen Kopie geschieht.',
      ])
    })
  })
}
