/**
 * Regression tests of the proximity findings (SECURITY.md from 75; docs/security/channels.md, and
 * owner-protections.md for 78): what the new device's holder, or an outsider, can do to the proximity
 * verdict and the risk decision by choosing which requests carry which address. Through app.request()
 * with the fake clock on the memory store, with a locator that knows where some addresses are.
 */
import { describe, expect, it } from 'vitest'
import { cloudflareLocator } from '../../src/adapters/geo/cloudflare.ts'
import { memoryKeyStore } from '../../src/adapters/keys/keystore.ts'
import type { NetworkFacts, NetworkLocator } from '../../src/ports.ts'
import { openSigningKeys } from '../../src/services/signing-keys.ts'
import { call, login, viaApp, type Send } from '../helpers/account-client.ts'
import { dpopHolder, type DpopHolder } from '../helpers/dpop.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { bindingOf, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { seededRandom } from '../helpers/seeded-random.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const START = Date.UTC(2026, 10, 22)
/** The owner, at home in Berlin. */
const HOME = '198.51.100.20'
/** The phisher, in New York. */
const PHISHER = '203.0.113.5'
/** An address the geo database does not know (no ASN, no position). */
const UNLOCATED = '192.0.2.77'
const BINDING = bindingOf('P')
const FACTS: Record<string, NetworkFacts> = {
  [HOME]: { asn: 3320, geo: { latitude: 52.52, longitude: 13.405 } },
  [PHISHER]: { asn: 7922, geo: { latitude: 40.71, longitude: -74.01 } },
}
const locator: NetworkLocator = { locate: (ip) => FACTS[ip] ?? {} }

interface Owner {
  t: TestApp
  phone: Send
  token: string
  from: (ip: string) => Send
}

/** Alice, signed in on her phone at home, on a relay that signs channel tickets and locates addresses. */
const owner = async (env: Record<string, string> = {}): Promise<Owner> => {
  const clock = fakeClock(START)
  const keys = await openSigningKeys({ store: memoryKeyStore(), clock, random: seededRandom(75), retiredKeyTtlMs: 86_400_000 })
  const t = makeApp({ env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', ...env }, clock, locator, signingKeys: keys })
  const phone = viaApp(t.app, HOME)
  expect((await call(phone, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
  const { access_token: token } = await login(phone, 'alice', PASSWORD)
  return { t, phone, token, from: (ip) => viaApp(t.app, ip) }
}

/** The approval as the SDK sends it: the binding, the key and the ticket of the QR code it scanned. */
const approve = (o: Owner, userCode: string, holder: DpopHolder, ticket?: string) =>
  call(
    o.phone,
    'POST',
    `/v1/approvals/${encodeURIComponent(userCode)}`,
    { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt, ...(ticket === undefined ? {} : { channel_ticket: ticket }) },
    o.token,
  )

describe('finding 75: no evidence of where a sighting is never outranks evidence of distance', () => {
  it('finding 75: a QR code created and relayed from New York is denied when the approver sends its signed ticket', async () => {
    const o = await owner()
    const created = await call(o.from(PHISHER), 'POST', '/v1/rendezvous', { data: '' })
    expect(typeof created.body.ticket).toBe('string')
    const holder = await dpopHolder()
    const { codes } = await requestGrant(o.from(PHISHER), holder, o.t.clock.now(), { channel_binding: BINDING })
    const context = await call(o.phone, 'GET', `/v1/approvals/${codes.user_code}`, undefined, o.token)
    expect(context.body.proximity.relation).toBe('far')
    // The ticket's prefix (no position of its own) must not turn New York into "unknown".
    const res = await approve(o, codes.user_code, holder, created.body.ticket as string)
    expect(res).toMatchObject({ status: 403, body: { qrelay_code: 'POLICY_DENIED', reason: 'far_away' } })
  })

  it('finding 75: one poll from an address the geo database does not know does not hide New York', async () => {
    const o = await owner()
    const holder = await dpopHolder()
    const { codes } = await requestGrant(o.from(PHISHER), holder, o.t.clock.now(), { channel_binding: BINDING })
    expect((await pollToken(o.from(UNLOCATED), holder, o.t.clock.now(), codes.device_code)).body.error).toBe('authorization_pending')
    const context = await call(o.phone, 'GET', `/v1/approvals/${codes.user_code}`, undefined, o.token)
    expect(context.body.proximity.relation).toBe('far')
    const res = await approve(o, codes.user_code, holder)
    expect(res).toMatchObject({ status: 403, body: { qrelay_code: 'POLICY_DENIED', reason: 'far_away' } })
  })

  it('finding 75: a new device seen only where the geo database knows nothing still gets a step-up, not a deny', async () => {
    const o = await owner()
    const holder = await dpopHolder()
    const { codes } = await requestGrant(o.from(UNLOCATED), holder, o.t.clock.now(), { channel_binding: BINDING })
    const res = await approve(o, codes.user_code, holder)
    expect(res.status).toBe(401)
  })
})

describe("finding 76: a signed ticket's prefix is judged by the network lists as the address it stands for", () => {
  /** Alice's office holds two networks, both trusted: the phone on one, the new laptop on the other. */
  const OFFICE = { QRELAY_POLICY_TRUSTED_NETWORKS: '198.51.100.0/24,203.0.113.0/24' }

  it('finding 76: an approval on trusted networks carrying the QR code ticket needs no step-up', async () => {
    const o = await owner(OFFICE)
    const created = await call(o.from('203.0.113.40'), 'POST', '/v1/rendezvous', { data: '' })
    const holder = await dpopHolder()
    const { codes } = await requestGrant(o.from('203.0.113.40'), holder, o.t.clock.now(), { channel_binding: BINDING })
    const res = await approve(o, codes.user_code, holder, created.body.ticket as string)
    expect(res).toMatchObject({ status: 200, body: { status: 'approved' } })
  })

  it('finding 76: a ticket from outside the trusted networks still keeps the login out of their relief', async () => {
    const o = await owner({ QRELAY_POLICY_TRUSTED_NETWORKS: '198.51.100.0/24,203.0.113.0/25' })
    // Created from 203.0.113.200: its /24 reaches beyond the trusted /25.
    const created = await call(o.from('203.0.113.200'), 'POST', '/v1/rendezvous', { data: '' })
    const holder = await dpopHolder()
    const { codes } = await requestGrant(o.from('203.0.113.40'), holder, o.t.clock.now(), { channel_binding: BINDING })
    const res = await approve(o, codes.user_code, holder, created.body.ticket as string)
    expect(res.status).toBe(401)
  })
})

describe("finding 77: the Worker's locator tells only of the address Cloudflare saw", () => {
  /** The operator's own proxy in front of the Worker, in Frankfurt: Cloudflare sees it, not the clients. */
  const PROXY = '100.64.0.5'
  const FRANKFURT_CF = { asn: 64_496, country: 'DE', latitude: '50.11', longitude: '8.68' }

  /** A request as the Worker gets it through the proxy: CF-Connecting-IP and `request.cf` are the proxy's. */
  const viaProxy =
    (t: TestApp, client: string): Send =>
    async (path, init) => {
      const headers = {
        ...(init.headers as Record<string, string>),
        'x-test-peer': PROXY,
        'cf-connecting-ip': PROXY,
        'x-forwarded-for': client,
      }
      const request = Object.assign(new Request(`https://relay.example${path}`, { ...init, headers }), { cf: FRANKFURT_CF })
      return t.app.request(request)
    }

  it("finding 77: behind a proxy, a phisher in New York and the owner in Berlin are not both placed at the proxy's door", async () => {
    const t = makeApp({
      env: {
        ...TEST_ENV,
        QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
        QRELAY_TRUSTED_PROXY_HEADER: 'x-forwarded-for',
        QRELAY_TRUSTED_PROXIES: '100.64.0.0/24',
      },
      clock: fakeClock(START),
      locator: cloudflareLocator,
    })
    const phone = viaProxy(t, HOME)
    expect((await call(phone, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const { access_token: token } = await login(phone, 'alice', PASSWORD)
    const holder = await dpopHolder()
    const { codes } = await requestGrant(viaProxy(t, PHISHER), holder, t.clock.now(), { channel_binding: BINDING })
    const context = await call(phone, 'GET', `/v1/approvals/${codes.user_code}`, undefined, token)
    expect(context.body.proximity.relation).not.toBe('nearby')
    const res = await call(
      phone,
      'POST',
      `/v1/approvals/${encodeURIComponent(codes.user_code)}`,
      { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt },
      token,
    )
    // Nothing is known of where the two are: a step-up, never an approval on the proxy's position.
    expect(res.status).toBe(401)
  })
})

describe("finding 78: one customer of a carrier cannot get the whole carrier's logins refused", () => {
  /** The owner's broadband carrier: her phone, her new laptop and one saboteur among its customers. */
  const CARRIER = 3320
  const SABOTEUR_48 = '2001:db8:77:'
  const carrierLocator: NetworkLocator = {
    locate: (ip) => (ip === HOME || ip === '198.51.100.21' || ip.startsWith('2001:db8:') || ip === '203.0.113.66' ? { asn: CARRIER } : {}),
  }

  /** Alice on the carrier, with the abuse guard on, and a native channel somebody else created and claimed. */
  const setup = async () => {
    const t = makeApp({
      env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0' },
      clock: fakeClock(START),
      locator: carrierLocator,
      abuse: true,
    })
    const phone = viaApp(t.app, HOME)
    expect((await call(phone, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const { access_token: token } = await login(phone, 'alice', PASSWORD)
    const created = await call(viaApp(t.app, '192.0.2.1'), 'POST', '/v1/rendezvous', { data: '' })
    expect((await call(viaApp(t.app, '192.0.2.2'), 'GET', `/v1/rendezvous/${created.body.id}`)).status).toBe(200)
    /** A write without a party secret from `ip`: a refused join. */
    const refusedJoin = async (ip: string) =>
      (await call(viaApp(t.app, ip), 'PUT', `/v1/rendezvous/${created.body.id}`, { sequence_token: 'x', data: 'y' })).status
    return { t, phone, token, refusedJoin }
  }

  /** The owner's own QR login at home: her laptop creates the channel, her phone approves. */
  const ownerLogin = async (s: Awaited<ReturnType<typeof setup>>) => {
    const laptop = viaApp(s.t.app, '198.51.100.21')
    const created = await call(laptop, 'POST', '/v1/rendezvous', { data: '' })
    const holder = await dpopHolder()
    const { codes } = await requestGrant(laptop, holder, s.t.clock.now(), { channel_binding: BINDING })
    const approved = await call(
      s.phone,
      'POST',
      `/v1/approvals/${encodeURIComponent(codes.user_code)}`,
      { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt },
      s.token,
    )
    return { created: created.status, approved }
  }

  it("finding 78: 120 refused joins from the /64s of one customer's IPv6 prefix do not block the carrier", async () => {
    const s = await setup()
    for (let i = 0; i < 120; i++) expect(await s.refusedJoin(`${SABOTEUR_48}${Math.floor(i / 9)}::1`)).toBe(403)
    const login = await ownerLogin(s)
    expect(login.created).toBe(200)
    expect(login.approved).toMatchObject({ status: 200, body: { status: 'approved' } })
  })

  it('finding 78: nor do 120 from one IPv4 address', async () => {
    const s = await setup()
    for (let i = 0; i < 120; i++) expect([403, 429]).toContain(await s.refusedJoin('203.0.113.66'))
    const login = await ownerLogin(s)
    expect(login.created).toBe(200)
    expect(login.approved).toMatchObject({ status: 200, body: { status: 'approved' } })
  })

  it('finding 78: refused joins from a dozen customers of the carrier still block it (the signal stays)', async () => {
    const s = await setup()
    // Twelve customers (one /48 each), nine refused joins each: below each network's own limit of ten.
    for (let c = 0; c < 12; c++) for (let i = 0; i < 9; i++) expect(await s.refusedJoin(`2001:db8:${100 + c}:1::1`)).toBe(403)
    const login = await ownerLogin(s)
    expect(login.created).toBe(403)
    expect(login.approved).toMatchObject({ status: 403, body: { reason: 'abuse_blocked' } })
  })
})

describe('finding 79: the approval context shows the verdict the decision reaches', () => {
  it("finding 79: with the operator's thresholds, a login from 255 km away is shown far and denied far", async () => {
    const HAMBURG_HOME = '203.0.113.99'
    const facts: Record<string, NetworkFacts> = {
      [HOME]: { geo: { latitude: 52.52, longitude: 13.405 } },
      [HAMBURG_HOME]: { geo: { latitude: 53.55, longitude: 9.99 } },
    }
    const t = makeApp({
      env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_FAR_KM: '200' },
      clock: fakeClock(START),
      locator: { locate: (ip) => facts[ip] ?? {} },
    })
    const phone = viaApp(t.app, HOME)
    expect((await call(phone, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const { access_token: token } = await login(phone, 'alice', PASSWORD)
    const holder = await dpopHolder()
    const { codes } = await requestGrant(viaApp(t.app, HAMBURG_HOME), holder, t.clock.now(), { channel_binding: BINDING })
    const context = await call(phone, 'GET', `/v1/approvals/${codes.user_code}`, undefined, token)
    const decided = await call(
      phone,
      'POST',
      `/v1/approvals/${encodeURIComponent(codes.user_code)}`,
      { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt },
      token,
    )
    expect(decided).toMatchObject({ status: 403, body: { reason: 'far_away' } })
    expect(context.body.proximity.relation).toBe('far')
  })
})
