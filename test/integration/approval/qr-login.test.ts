/**
 * QR login at the HTTP level, through app.request(): the new device's grant, the existing device's
 * decision under policy, polling and DPoP-bound minting with quarantine; and the attacks of issue 5,
 * each failing safely with a clear reason.
 */
import { describe, expect, it } from 'vitest'
import { memoryKeyStore } from '../../../src/adapters/keys/keystore.ts'
import { reviseAccount } from '../../../src/core/accounts/records.ts'
import type { DeviceGrant } from '../../../src/core/oauth/device-grant.ts'
import { hashUserCode } from '../../../src/core/oauth/user-code.ts'
import { openSigningKeys, type SigningKeys } from '../../../src/services/signing-keys.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'
import type { NetworkFacts, NetworkLocator } from '../../../src/ports.ts'
import { generateTotp, totpSecretFromBase32 } from '../../../src/core/auth/totp.ts'
import { call, login, refresh, viaApp, withUia, type Send } from '../../helpers/account-client.ts'
import { dpopHolder, type DpopHolder } from '../../helpers/dpop.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../../helpers/make-app.ts'
import { BASE, bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const HOME_TOO = '198.51.100.77'
const ELSEWHERE = '203.0.113.5'
const BINDING = bindingOf('Q')

interface Setup {
  t: TestApp
  approver: Send
  token: string
  accountId: string
  newDevice: (peer?: string) => Send
}

const setup = async (env: Record<string, string> = {}, locator?: NetworkLocator, signingKeys?: SigningKeys): Promise<Setup> => {
  const t = makeApp({
    env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', ...env },
    clock: fakeClock(Date.UTC(2026, 10, 22)),
    ...(locator === undefined ? {} : { locator }),
    ...(signingKeys === undefined ? {} : { signingKeys }),
  })
  const approver = viaApp(t.app, HOME)
  const created = await call(approver, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
  expect(created.status).toBe(201)
  const tokens = await login(approver, 'alice', PASSWORD)
  return {
    t,
    approver,
    token: tokens.access_token,
    accountId: created.body.account_id,
    newDevice: (peer = HOME_TOO) => viaApp(t.app, peer),
  }
}

/** New device: grant; existing device: approve; new device: poll → tokens. */
const signIn = async (s: Setup, holder: DpopHolder, options: { peer?: string; binding?: string } = {}) => {
  const send = s.newDevice(options.peer)
  const grant = await requestGrant(send, holder, s.t.clock.now(), {
    channel_binding: options.binding ?? BINDING,
    device_name: 'Kitchen TV',
  })
  expect(grant.status).toBe(200)
  const approved = await decide(s.approver, s.token, grant.codes.user_code, {
    decision: 'approve',
    channel_binding: options.binding ?? BINDING,
    dpop_jkt: holder.jkt,
  })
  expect(approved, JSON.stringify(approved.body)).toMatchObject({ status: 200, body: { status: 'approved' } })
  const tokens = await pollToken(send, holder, s.t.clock.now(), grant.codes.device_code)
  expect(tokens.status, JSON.stringify(tokens.body)).toBe(200)
  return { send, grant: grant.codes, tokens: tokens.body }
}

describe('QR login: approval and minting', () => {
  it('mints a DPoP-bound, quarantined session for the new device once the existing device approves', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const { send, tokens } = await signIn(s, holder)
    expect(tokens).toMatchObject({ token_type: 'DPoP', scope: 'device', expires_in: 300 })
    const whoami = await callWithDpop(send, holder, s.t.clock.now(), 'GET', '/v1/account/whoami', tokens.access_token)
    expect(whoami).toMatchObject({ status: 200, body: { user_id: 'alice', device_id: tokens.device_id } })

    const devices = await call(s.approver, 'GET', '/v1/devices', undefined, s.token)
    const minted = (devices.body.devices as Array<Record<string, unknown>>).find((d) => d.device_id === tokens.device_id)
    expect(minted).toMatchObject({ display_name: 'Kitchen TV', created_via: 'qr', quarantine_until_ms: s.t.clock.now() + 86_400_000 })
    expect(typeof minted?.approved_by_device_id).toBe('string')
    const record = await s.t.durable.devices.get(s.accountId, tokens.device_id)
    expect(record).toMatchObject({ origin: 'qr', quarantineUntilMs: s.t.clock.now() + 86_400_000 })
    expect(record?.approvedByDeviceId).toBeDefined()
    expect(record?.channelHash).toBeDefined()
    expect(s.t.events.list(s.accountId).map((e) => e.type)).toContain('device_signed_in')
  })

  it('answers authorization_pending, slows down only a client polling too fast, and never the first poll', async () => {
    const s = await setup({ QRELAY_POLL_INTERVAL_SECONDS: '5' })
    const holder = await dpopHolder()
    const send = s.newDevice()
    const { codes } = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
    expect((await pollToken(send, holder, s.t.clock.now(), codes.device_code)).body.error).toBe('authorization_pending')
    s.t.clock.advance(1_000)
    const fast = await pollToken(send, holder, s.t.clock.now(), codes.device_code)
    expect(fast.body).toMatchObject({ error: 'slow_down', interval: 10 })
    s.t.clock.advance(10_000)
    expect((await pollToken(send, holder, s.t.clock.now(), codes.device_code)).body.error).toBe('authorization_pending')
    s.t.clock.advance(10_000)
    expect((await pollToken(send, holder, s.t.clock.now(), codes.device_code)).body.error).toBe('authorization_pending')
  })

  it('answers access_denied after a decline and expired_token after the lifetime', async () => {
    const s = await setup({ QRELAY_GRANT_TTL_SECONDS: '60' })
    const holder = await dpopHolder()
    const send = s.newDevice()
    const first = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
    const declined = await decide(s.approver, s.token, first.codes.user_code, {
      decision: 'decline',
      channel_binding: BINDING,
      dpop_jkt: holder.jkt,
    })
    expect(declined.body).toEqual({ status: 'declined' })
    expect((await pollToken(send, holder, s.t.clock.now(), first.codes.device_code)).body.error).toBe('access_denied')
    const second = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
    s.t.clock.advance(60_000)
    expect((await pollToken(send, holder, s.t.clock.now(), second.codes.device_code)).body.error).toBe('expired_token')
    expect((await pollToken(send, holder, s.t.clock.now(), 'not-a-code')).body.error).toBe('invalid_grant')
  })

  it('refuses a DPoP-bound token without its proof, with the Bearer scheme, with a replayed proof or another key', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const { send, tokens } = await signIn(s, holder)
    const at = tokens.access_token as string
    const bearer = await call(send, 'GET', '/v1/account/whoami', undefined, at)
    expect(bearer.status).toBe(401)
    expect(bearer.body.qrelay_code).toBe('INVALID_DPOP_PROOF')
    const noProof = await call(send, 'GET', '/v1/account/whoami', undefined, undefined, { authorization: `DPoP ${at}` })
    expect(noProof.status).toBe(401)
    const proof = await holder.prove('GET', `${BASE}/v1/account/whoami`, s.t.clock.now(), { accessToken: at })
    const headers = { authorization: `DPoP ${at}`, dpop: proof }
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, undefined, headers)).status).toBe(200)
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, undefined, headers)).body.error).toBe(
      'this DPoP proof was already used',
    )
    const thief = await dpopHolder()
    const stolen = await callWithDpop(send, thief, s.t.clock.now(), 'GET', '/v1/account/whoami', at)
    expect(stolen.status).toBe(401)
    const wrongPath = await holder.prove('GET', `${BASE}/v1/devices`, s.t.clock.now(), { accessToken: at })
    expect(
      (await call(send, 'GET', '/v1/account/whoami', undefined, undefined, { authorization: `DPoP ${at}`, dpop: wrongPath })).status,
    ).toBe(401)
  })

  it('refreshes a DPoP-bound session only with a proof by its key', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const { send, tokens } = await signIn(s, holder)
    const plain = await refresh(send, tokens.refresh_token)
    expect(plain.body.error).toBe('invalid_grant')
    const thief = await dpopHolder()
    const refreshWith = async (h: DpopHolder) => {
      const res = await send('/oauth2/token', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          dpop: await h.prove('POST', `${BASE}/oauth2/token`, s.t.clock.now()),
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }).toString(),
      })
      return { status: res.status, body: (await res.json()) as Record<string, any> }
    }
    expect((await refreshWith(thief)).body.error).toBe('invalid_grant')
    const rotated = await refreshWith(holder)
    expect(rotated).toMatchObject({ status: 200, body: { token_type: 'DPoP' } })
  })

  it('keeps a QR-minted session in quarantine: no password change, no 2FA, no approving', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const { send, tokens } = await signIn(s, holder)
    const at = tokens.access_token as string
    const password = await callWithDpop(send, holder, s.t.clock.now(), 'POST', '/v1/account/password', at, {
      new_password: 'another horse battery staple',
    })
    expect(password).toMatchObject({ status: 403, body: { reason: 'quarantined' } })
    const totp = await callWithDpop(send, holder, s.t.clock.now(), 'POST', '/v1/account/totp', at, {})
    expect(totp).toMatchObject({ status: 403, body: { reason: 'quarantined' } })
    // A quarantined device approving another login.
    const other = await dpopHolder()
    const grant = await requestGrant(s.newDevice(), other, s.t.clock.now(), { channel_binding: bindingOf('R') })
    const approval = await callWithDpop(send, holder, s.t.clock.now(), 'POST', `/v1/approvals/${grant.codes.user_code}`, at, {
      decision: 'approve',
      channel_binding: bindingOf('R'),
      dpop_jkt: other.jkt,
    })
    expect(approval).toMatchObject({ status: 403, body: { reason: 'quarantined' } })
  })
})

describe('QR login: attacks', () => {
  it('refuses an approval carrying the binding of another channel and hides the code from that account, without burning it', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const send = s.newDevice()
    const { codes } = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
    const res = await decide(s.approver, s.token, codes.user_code, {
      decision: 'approve',
      channel_binding: bindingOf('X'),
      dpop_jkt: holder.jkt,
    })
    expect(res).toMatchObject({ status: 403, body: { qrelay_code: 'CHANNEL_BINDING_MISMATCH' } })
    // A stranger who read the code cannot burn it: the new device is still waiting …
    expect((await pollToken(send, holder, s.t.clock.now(), codes.device_code)).body.error).toBe('authorization_pending')
    // … but this account no longer sees it, so a relayed code is not approved by a second try.
    const retry = await decide(s.approver, s.token, codes.user_code, {
      decision: 'approve',
      channel_binding: BINDING,
      dpop_jkt: holder.jkt,
    })
    expect(retry.status).toBe(404)
  })

  it('refuses an approval naming another DPoP key than the new device used', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const { codes } = await requestGrant(s.newDevice(), holder, s.t.clock.now(), { channel_binding: BINDING })
    const attacker = await dpopHolder()
    const res = await decide(s.approver, s.token, codes.user_code, {
      decision: 'approve',
      channel_binding: BINDING,
      dpop_jkt: attacker.jkt,
    })
    expect(res).toMatchObject({ status: 403, body: { qrelay_code: 'DPOP_KEY_MISMATCH' } })
  })

  it('refuses a token request with another DPoP key, and the real key still redeems once', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const send = s.newDevice()
    const { codes } = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
    await decide(s.approver, s.token, codes.user_code, { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt })
    const thief = await dpopHolder()
    const stolen = await pollToken(send, thief, s.t.clock.now(), codes.device_code)
    expect(stolen.body).toMatchObject({
      error: 'invalid_grant',
      error_description: 'the DPoP proof is not by the key this code was issued to',
    })
    expect((await pollToken(send, holder, s.t.clock.now(), codes.device_code)).status).toBe(200)
  })

  it('refuses a replayed DPoP proof at the token endpoint', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const send = s.newDevice()
    const { codes } = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
    const proof = await holder.prove('POST', `${BASE}/oauth2/token`, s.t.clock.now())
    expect((await pollToken(send, holder, s.t.clock.now(), codes.device_code, { proof })).body.error).toBe('authorization_pending')
    s.t.clock.advance(10_000)
    expect((await pollToken(send, holder, s.t.clock.now(), codes.device_code, { proof })).body.error).toBe('invalid_dpop_proof')
  })

  it('limits device authorizations and token requests per client address (429, Retry-After)', async () => {
    const s = await setup({ QRELAY_RATE_DEVICE_AUTHORIZATION_PER_CLIENT: '3/60s', QRELAY_RATE_TOKEN_PER_CLIENT: '2/60s' })
    const holder = await dpopHolder()
    const send = s.newDevice(ELSEWHERE)
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })).status)
    expect(statuses).toEqual([200, 200, 200, 429])
    const polls: number[] = []
    for (let i = 0; i < 3; i++) polls.push((await pollToken(send, holder, s.t.clock.now(), 'unknown-code')).status)
    expect(polls).toEqual([400, 400, 429])
    // Another address is not affected.
    expect((await requestGrant(s.newDevice(HOME_TOO), holder, s.t.clock.now(), { channel_binding: BINDING })).status).toBe(200)
  })

  it('lets exactly one of two concurrent approvals win', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const { codes } = await requestGrant(s.newDevice(), holder, s.t.clock.now(), { channel_binding: BINDING })
    const body = { decision: 'approve' as const, channel_binding: BINDING, dpop_jkt: holder.jkt }
    const results = await Promise.all(Array.from({ length: 8 }, () => decide(s.approver, s.token, codes.user_code, body)))
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    for (const r of results.filter((r) => r.status !== 200)) expect([404, 409]).toContain(r.status)
  })

  it('redeems a device code once, even when polled concurrently: every poll gets the same session', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const send = s.newDevice()
    const { codes } = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
    await decide(s.approver, s.token, codes.user_code, { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt })
    const polls = await Promise.all(Array.from({ length: 8 }, () => pollToken(send, holder, s.t.clock.now(), codes.device_code)))
    // One redemption, one session: the concurrent polls resume the redemption and hand out its tokens.
    expect(polls.map((p) => p.status)).toEqual(Array(8).fill(200))
    expect(new Set(polls.map((p) => p.body.access_token)).size).toBe(1)
    expect(new Set(polls.map((p) => p.body.refresh_token)).size).toBe(1)
    const devices = await s.t.durable.devices.listByAccount(s.accountId)
    expect(devices.filter((d) => d.origin === 'qr')).toHaveLength(1)
    // Reported once in the feed; the sinks hear the one sign-in, again from a poll that met it stored
    // (so a telling lost to a crash is made up; the webhook sink enqueues it once).
    const isQr = (e: { type: string; details?: Record<string, unknown> }) => e.type === 'device_signed_in' && e.details?.origin === 'qr'
    const feed = await s.t.durable.security.readEvents(s.accountId, 0, 100)
    expect(feed.filter(isQr)).toHaveLength(1)
    const told = s.t.events.list(s.accountId).filter(isQr)
    expect(new Set(told.map((e) => JSON.stringify(e)))).toEqual(new Set([JSON.stringify(told[0])]))
    const token = polls[0]?.body.access_token as string
    expect((await callWithDpop(send, holder, s.t.clock.now(), 'GET', '/v1/account/whoami', token)).status).toBe(200)
    // Past the retry grace, the code is spent.
    s.t.clock.advance(61_000)
    expect((await pollToken(send, holder, s.t.clock.now(), codes.device_code)).body.error_description).toBe(
      'this device code was already used',
    )
  })

  it('steps up when the devices are on different networks and no geo data says more', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const { codes } = await requestGrant(s.newDevice(ELSEWHERE), holder, s.t.clock.now(), { channel_binding: BINDING })
    const body = { decision: 'approve' as const, channel_binding: BINDING, dpop_jkt: holder.jkt }
    const challenge = await decide(s.approver, s.token, codes.user_code, body)
    expect(challenge.status).toBe(401)
    expect(challenge.body.flows).toEqual([{ stages: ['m.login.password'] }])
    const wrong = await decide(s.approver, s.token, codes.user_code, {
      ...body,
      auth: { type: 'm.login.password', session: challenge.body.session, password: 'wrong password!!' },
    })
    expect(wrong.status).toBe(401)
    const done = await decide(s.approver, s.token, codes.user_code, {
      ...body,
      auth: { type: 'm.login.password', session: challenge.body.session, password: PASSWORD },
    })
    expect(done).toMatchObject({ status: 200, body: { status: 'approved' } })
  })

  it('steps up with a second factor, not the password, when the account has TOTP', async () => {
    const s = await setup()
    const { final } = await withUia(s.approver, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, s.token)
    const key = totpSecretFromBase32(final.body.secret as string)
    if (!key.ok) throw new Error('bad secret')
    const confirmed = await call(
      s.approver,
      'POST',
      '/v1/account/totp/confirm',
      { code: generateTotp(key.value.bytes(), s.t.clock.now()) },
      s.token,
    )
    expect(confirmed.status).toBe(200)
    s.t.clock.advance(30_000)
    const holder = await dpopHolder()
    const { codes } = await requestGrant(s.newDevice(ELSEWHERE), holder, s.t.clock.now(), { channel_binding: BINDING })
    const body = { decision: 'approve' as const, channel_binding: BINDING, dpop_jkt: holder.jkt }
    const challenge = await decide(s.approver, s.token, codes.user_code, body)
    expect(challenge.body.flows).toEqual([{ stages: ['m.login.2fa.totp'] }, { stages: ['m.login.2fa.recovery'] }])
    const password = await decide(s.approver, s.token, codes.user_code, {
      ...body,
      auth: { type: 'm.login.password', session: challenge.body.session, password: PASSWORD },
    })
    expect(password.body.qrelay_code).toBe('UIA_STAGE_NOT_ALLOWED')
    const recovery = (confirmed.body.recovery_codes as string[])[0]
    const done = await decide(s.approver, s.token, codes.user_code, {
      ...body,
      auth: { type: 'm.login.2fa.recovery', session: challenge.body.session, code: recovery },
    })
    expect(done).toMatchObject({ status: 200, body: { status: 'approved' } })
  })

  it("takes the new device's channel-creation network from the signed ticket the approver scanned", async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 22))
    const keys = await openSigningKeys({ store: memoryKeyStore(), clock, random: seededRandom(3), retiredKeyTtlMs: 86_400_000 })
    const s = await setup({}, undefined, keys)
    s.t.clock.set(clock.now())
    // The new device created its channel on the approver's network, then asked for a grant from elsewhere.
    const created = await call(s.newDevice(HOME_TOO), 'POST', '/v1/rendezvous', { data: '' })
    expect(typeof created.body.ticket).toBe('string')
    const holder = await dpopHolder()
    const { codes } = await requestGrant(s.newDevice(ELSEWHERE), holder, s.t.clock.now(), { channel_binding: BINDING })
    const body = { decision: 'approve' as const, channel_binding: BINDING, dpop_jkt: holder.jkt }
    const forged = await decide(s.approver, s.token, codes.user_code, { ...body, channel_ticket: `${created.body.ticket}x` } as never)
    expect(forged).toMatchObject({ status: 400, body: { qrelay_code: 'INVALID_PARAM' } })
    const challenge = await decide(s.approver, s.token, codes.user_code, { ...body, channel_ticket: created.body.ticket } as never)
    // Same prefix at creation, another network at authorization: inconsistent, so a step-up.
    expect(challenge.status).toBe(401)
    const done = await decide(s.approver, s.token, codes.user_code, {
      ...body,
      channel_ticket: created.body.ticket,
      auth: { type: 'm.login.password', session: challenge.body.session, password: PASSWORD },
    } as never)
    expect(done.body).toEqual({ status: 'approved' })
    const grantId = await s.t.store.kv.get(`grant-uc:${hashUserCode(codes.user_code.replace('-', ''))}`)
    const grant = JSON.parse((await s.t.store.kv.get(`grant:${grantId}`)) ?? '{}') as DeviceGrant
    expect(grant.networks).toContainEqual({ source: 'channel_create', atMs: clock.now(), prefix: '198.51.100.0/24' })
  })

  it('denies a QR code relayed to a victim far away, and burns the grant', async () => {
    const geo: Record<string, NetworkFacts> = {
      [HOME]: { asn: 64500, geo: { latitude: 52.52, longitude: 13.4 } },
      [ELSEWHERE]: { asn: 64501, geo: { latitude: 40.71, longitude: -74.0 } },
    }
    const s = await setup({}, { locate: (ip) => geo[ip] ?? {} })
    const holder = await dpopHolder()
    const send = s.newDevice(ELSEWHERE)
    const { codes } = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
    const res = await decide(s.approver, s.token, codes.user_code, { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt })
    expect(res).toMatchObject({ status: 403, body: { qrelay_code: 'POLICY_DENIED', reason: 'far_away' } })
    expect((await pollToken(send, holder, s.t.clock.now(), codes.device_code)).body.error).toBe('access_denied')
  })

  it('relaxes proximity on trusted networks and refuses denied ones', async () => {
    const trusted = await setup({ QRELAY_POLICY_TRUSTED_NETWORKS: '198.51.100.0/24,203.0.113.0/24' })
    const h1 = await dpopHolder()
    await signIn(trusted, h1, { peer: ELSEWHERE })
    const denied = await setup({ QRELAY_POLICY_DENIED_NETWORKS: '203.0.113.0/24' })
    const h2 = await dpopHolder()
    const { codes } = await requestGrant(denied.newDevice(ELSEWHERE), h2, denied.t.clock.now(), { channel_binding: BINDING })
    const res = await decide(denied.approver, denied.token, codes.user_code, {
      decision: 'approve',
      channel_binding: BINDING,
      dpop_jkt: h2.jkt,
    })
    expect(res).toMatchObject({ status: 403, body: { reason: 'network_denied' } })
  })

  it('refuses an approver signed in too recently, without burning the grant', async () => {
    const s = await setup({ QRELAY_APPROVER_MIN_AGE_SECONDS: '900' })
    const holder = await dpopHolder()
    const { codes } = await requestGrant(s.newDevice(), holder, s.t.clock.now(), { channel_binding: BINDING })
    const res = await decide(s.approver, s.token, codes.user_code, { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt })
    expect(res).toMatchObject({ status: 403, body: { reason: 'approver_too_new' } })
    expect((await call(s.approver, 'GET', `/v1/approvals/${codes.user_code}`, undefined, s.token)).status).toBe(200)
  })

  it('refuses minting when the approver changed its password with logout_devices after approving', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const send = s.newDevice()
    const { codes } = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
    await decide(s.approver, s.token, codes.user_code, { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt })
    // Another device (signed in by password) changes the password and signs every other device out.
    const other = await login(s.approver, 'alice', PASSWORD)
    const changed = await withUia(
      s.approver,
      'POST',
      '/v1/account/password',
      { new_password: 'another horse battery staple', logout_devices: true },
      PASSWORD,
      undefined,
      other.access_token,
    )
    expect(changed.final.status).toBe(200)
    expect((await call(s.approver, 'GET', '/v1/account/whoami', undefined, s.token)).status).toBe(401)
    const poll = await pollToken(send, holder, s.t.clock.now(), codes.device_code)
    expect(poll.body.error).toBe('access_denied')
  })

  it('refuses minting when the account is locked (lockedUntilMs) between approval and redemption', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const send = s.newDevice()
    const { codes } = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
    await decide(s.approver, s.token, codes.user_code, { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt })
    const account = await s.t.durable.accounts.get(s.accountId)
    if (account === null) throw new Error('no account')
    const locked = reviseAccount(account, { lockedUntilMs: s.t.clock.now() + 60_000 }, s.t.clock.now())
    expect(await s.t.durable.accounts.update(account.id, account.version, locked)).toBe('ok')
    expect((await pollToken(send, holder, s.t.clock.now(), codes.device_code)).body.error).toBe('access_denied')
    expect((await s.t.durable.devices.listByAccount(s.accountId)).filter((d) => d.origin === 'qr')).toHaveLength(0)
  })

  it('refuses minting when the account is disabled between approval and redemption', async () => {
    const s = await setup()
    const holder = await dpopHolder()
    const send = s.newDevice()
    const { codes } = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
    await decide(s.approver, s.token, codes.user_code, { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt })
    expect((await call(s.approver, 'POST', '/v1/admin/users/alice/disable', {}, ADMIN_TOKEN)).status).toBeLessThan(300)
    const poll = await pollToken(send, holder, s.t.clock.now(), codes.device_code)
    expect(poll.body.error).toBe('access_denied')
    expect((await s.t.durable.devices.listByAccount(s.accountId)).filter((d) => d.origin === 'qr')).toHaveLength(0)
  })
})

describe('QR login: optional modes', () => {
  const enterCode = async (s: Setup, send: Send, holder: DpopHolder, deviceCode: string, code: string) => {
    const res = await send('/v1/device-verification', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        dpop: await holder.prove('POST', `${BASE}/v1/device-verification`, s.t.clock.now()),
      },
      body: new URLSearchParams({ device_code: deviceCode, code }).toString(),
    })
    return { status: res.status, body: (await res.json()) as Record<string, any> }
  }

  it('request-initiation verification: the new device gets its session only after typing the code the approver saw', async () => {
    const s = await setup({ QRELAY_INITIATION_VERIFY_CODE: 'true' })
    const holder = await dpopHolder()
    const send = s.newDevice()
    const { codes } = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
    const approved = await decide(s.approver, s.token, codes.user_code, {
      decision: 'approve',
      channel_binding: BINDING,
      dpop_jkt: holder.jkt,
    })
    expect(approved.body).toMatchObject({ status: 'approved', verification_code: expect.stringMatching(/^\d{6}$/) })
    const code = approved.body.verification_code as string
    expect((await pollToken(send, holder, s.t.clock.now(), codes.device_code)).body.error).toBe('authorization_pending')
    const thief = await dpopHolder()
    expect((await enterCode(s, send, thief, codes.device_code, code)).body.error).toBe('invalid_grant')
    const wrong = await enterCode(s, send, holder, codes.device_code, code === '000000' ? '111111' : '000000')
    expect(wrong.body).toMatchObject({ error: 'invalid_code', attempts_left: 4 })
    expect((await enterCode(s, send, holder, codes.device_code, `${code.slice(0, 3)} ${code.slice(3)}`)).body).toEqual({
      status: 'verified',
    })
    s.t.clock.advance(10_000)
    expect((await pollToken(send, holder, s.t.clock.now(), codes.device_code)).status).toBe(200)
  })

  it('request-initiation verification: five wrong codes cancel the sign-in', async () => {
    const s = await setup({ QRELAY_INITIATION_VERIFY_CODE: 'true' })
    const holder = await dpopHolder()
    const send = s.newDevice()
    const { codes } = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
    const approved = await decide(s.approver, s.token, codes.user_code, {
      decision: 'approve',
      channel_binding: BINDING,
      dpop_jkt: holder.jkt,
    })
    const wrongCode = approved.body.verification_code === '000000' ? '111111' : '000000'
    const answers = []
    for (let i = 0; i < 5; i++) answers.push((await enterCode(s, send, holder, codes.device_code, wrongCode)).body.error)
    expect(answers).toEqual(['invalid_code', 'invalid_code', 'invalid_code', 'invalid_code', 'access_denied'])
    expect((await enterCode(s, send, holder, codes.device_code, approved.body.verification_code)).body.error).toBe('access_denied')
    expect((await pollToken(send, holder, s.t.clock.now(), codes.device_code)).body.error).toBe('access_denied')
  })

  it('authenticate-then-initiate: only signed-in devices create native and MSC4388 channels', async () => {
    const s = await setup({ QRELAY_INITIATION_REQUIRE_AUTH: 'true' })
    const anonymous = await call(s.newDevice(), 'POST', '/v1/rendezvous', { data: '' })
    expect(anonymous.status).toBe(401)
    const msc4388 = await call(s.newDevice(), 'POST', '/_matrix/client/unstable/io.element.msc4388/rendezvous', { data: '' })
    expect(msc4388.status).toBe(401)
    const signedIn = await call(s.approver, 'POST', '/v1/rendezvous', { data: '' }, s.token)
    expect(signedIn.status).toBeLessThan(300)
  })
})
