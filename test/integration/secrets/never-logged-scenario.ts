/**
 * The "secrets never logged" scenario, shared by the memory + SQLite and the Redis suites: a real
 * server (in-process, port 0) with a capturing logger at debug level runs every flow — password,
 * TOTP and recovery-code logins, TOTP enrolment, refresh (and a replayed refresh), revocation,
 * introspection, the QR device flow with approval and a DPoP-bound session, events, the three
 * rendezvous APIs, webhooks, and refusals — while every secret value it sees is collected. Then no
 * secret (nor its base64/base64url/hex re-encodings, nor the secret half of an `id.secret` token) may
 * appear in a log line, a store key, an error body or a webhook body.
 */
import { expect } from 'vitest'
import { generateTotp, totpSecretFromBase32 } from '../../../src/core/auth/totp.ts'
import type { Logger } from '../../../src/ports.ts'
import { call, login, withUia, type Answer, type Send } from '../../helpers/account-client.ts'
import { dpopHolder } from '../../helpers/dpop.ts'
import { BASE, bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../../helpers/qr-login.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver.ts'
import { FUZZ_ADMIN_TOKEN, FUZZ_INTROSPECTION_BASIC, MSC4108_PREFIX, MSC4388_PREFIX, NATIVE_PREFIX } from '../../fuzz/state.ts'
import { startFuzzTarget, type FuzzTarget } from '../../fuzz/target.ts'

export const PASSWORD = 'correct horse battery staple'
export const WEBHOOK_SECRET = 'whsec_NeverLoggedSecret0123456789abcdefXYZ'
const INTROSPECTION_SECRET = 'introspection-secret-0123456789abcdef0123'

/** A logger that keeps every line (all levels, child fields merged) as JSON text. */
export const capturingLogger = (lines: string[], bound: Record<string, unknown> = {}): Logger => {
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => {
    lines.push(
      JSON.stringify({ level, msg: message, ...bound, ...fields }, (_k, v: unknown) =>
        v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v,
      ),
    )
  }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => capturingLogger(lines, { ...bound, ...fields }),
  }
}

/** Every secret value seen, with the re-encodings under which it could leak. */
export class SecretBag {
  readonly values = new Map<string, string>()
  add(label: string, value: unknown): void {
    if (typeof value !== 'string' || value === '') return
    const forms = new Set<string>([value])
    // The secret half of `id.secret` tokens and of JWTs (the signature).
    const parts = value.split('.')
    if (parts.length > 1) for (const p of parts.slice(1)) if (p.length >= 16) forms.add(p)
    for (const f of [...forms]) {
      const bytes = Buffer.from(f, 'utf8')
      forms.add(bytes.toString('base64'))
      forms.add(bytes.toString('base64url'))
      forms.add(bytes.toString('hex'))
      if (/^[A-Za-z0-9_-]{16,}$/.test(f)) {
        const decoded = Buffer.from(f, 'base64url')
        if (decoded.length >= 8) forms.add(decoded.toString('hex'))
      }
    }
    if (/^[A-Z0-9]{4,}-[A-Z0-9]{4,}$/.test(value)) forms.add(value.replace('-', ''))
    for (const f of forms) if (f.length >= 8) this.values.set(f, label)
  }
  /** The secrets found in `text`, as `label (form)`. */
  findIn(text: string): string[] {
    const found: string[] = []
    for (const [form, label] of this.values) if (text.includes(form)) found.push(`${label} (${form.slice(0, 12)}…)`)
    return found
  }
}

/** What the scenario leaves to check. */
export interface ScenarioResult {
  secrets: SecretBag
  logs: string[]
  errorBodies: string[]
  storeKeys: string[]
  webhookBodies: string[]
}

const form = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(fields).toString(),
})

/** Runs every flow on `store` and returns what was seen. `scanKeys` lists the store's keys (Redis: SCAN). */
export const runSecretsScenario = async (
  store: 'memory' | 'redis',
  redisUrl?: string,
  scanKeys?: (target: FuzzTarget) => Promise<string[]>,
): Promise<ScenarioResult> => {
  const logs: string[] = []
  const errorBodies: string[] = []
  const secrets = new SecretBag()
  const receiver: WebhookReceiver = await startWebhookReceiver()
  const target = await startFuzzTarget({
    store,
    ...(redisUrl === undefined ? {} : { redisUrl }),
    logger: capturingLogger(logs),
    env: {
      QRELAY_LOG_LEVEL: 'debug',
      // No refresh grace: the replayed refresh below is a replay at once (within a grace it would be
      // answered idempotently with the same successor).
      QRELAY_REFRESH_GRACE_MS: '0',
      QRELAY_WEBHOOK_URL: receiver.url,
      QRELAY_WEBHOOK_SECRET: WEBHOOK_SECRET,
      QRELAY_WEBHOOK_POLL_INTERVAL_MS: '50',
      QRELAY_WEBHOOK_BACKOFF_BASE_MS: '100',
      QRELAY_WEBHOOK_BACKOFF_MAX_MS: '300',
    },
  })
  try {
    await target.recorder.begin()
    const raw: Send = (path, init) => fetch(`${target.url}${path}`, init)
    // Every answer with an error status is kept for the error-body check.
    const send: Send = async (path, init) => {
      const res = await raw(path, init)
      if (res.status >= 400) errorBodies.push(`${res.status} ${path.split('/')[1]}: ${await res.clone().text()}`)
      return res
    }
    secrets.add('password', PASSWORD)
    secrets.add('admin token', FUZZ_ADMIN_TOKEN)
    secrets.add('webhook secret', WEBHOOK_SECRET)
    secrets.add('introspection secret', INTROSPECTION_SECRET)
    secrets.add('introspection basic', FUZZ_INTROSPECTION_BASIC.slice('Basic '.length))

    // Accounts: create, password login, TOTP enrolment, TOTP and recovery-code logins.
    expect((await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, FUZZ_ADMIN_TOKEN)).status).toBe(201)
    const first = await login(send, 'alice', PASSWORD)
    const keep = (label: string, tokens: Record<string, any>): void => {
      secrets.add(`${label} access token`, tokens.access_token)
      secrets.add(`${label} refresh token`, tokens.refresh_token)
    }
    keep('password login', first)
    const enrol = await withUia(send, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, first.access_token)
    expect(enrol.final.status).toBe(200)
    secrets.add('TOTP seed', enrol.final.body.secret)
    secrets.add('TOTP uri', enrol.final.body.uri)
    const seed = totpSecretFromBase32(enrol.final.body.secret as string)
    if (!seed.ok) throw new Error('bad TOTP seed')
    const seedBytes = seed.value.bytes()
    secrets.add('TOTP seed (hex)', Buffer.from(seedBytes).toString('hex'))
    secrets.add('TOTP seed (base64)', Buffer.from(seedBytes).toString('base64'))
    const confirmed = await call(
      send,
      'POST',
      '/v1/account/totp/confirm',
      { code: generateTotp(seedBytes, Date.now()) },
      first.access_token,
    )
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200)
    const codes = confirmed.body.recovery_codes as string[]
    codes.forEach((c, i) => secrets.add(`recovery code ${i}`, c))
    const recovery = await login(send, 'alice', PASSWORD, { type: 'm.login.2fa.recovery', code: codes[0] as string })
    keep('recovery login', recovery)
    // A wrong password, a wrong TOTP and a used recovery code: refusals (and webhooks) too.
    expect([401, 403]).toContain(
      (await withUia(send, 'POST', '/v1/login', { username: 'alice' }, 'wrong password of some length')).final.status,
    )
    secrets.add('wrong password', 'wrong password of some length')
    expect([401, 403]).toContain(
      (
        await withUia(send, 'POST', '/v1/login', { username: 'alice' }, PASSWORD, {
          type: 'm.login.2fa.recovery',
          code: codes[0] as string,
        })
      ).final.status,
    )
    // TOTP login last of the logins (a TOTP step is single-use).
    // The confirmation used this step's code: the next step's (within the allowed skew) signs in.
    const totp = await login(send, 'alice', PASSWORD, { type: 'm.login.2fa.totp', code: generateTotp(seedBytes, Date.now() + 30_000) })
    keep('TOTP login', totp)

    // Refresh, a replayed refresh, revocation, introspection.
    const refreshed = await call(send, 'POST', '/oauth2/token', undefined, undefined, {})
    expect(refreshed.status).toBe(400)
    const rotate = async (token: string): Promise<Answer> => {
      const res = await send('/oauth2/token', form({ grant_type: 'refresh_token', refresh_token: token }))
      return { status: res.status, body: (await res.json()) as Record<string, any> }
    }
    const rotated = await rotate(first.refresh_token)
    expect(rotated.status).toBe(200)
    keep('refreshed', rotated.body)
    expect((await rotate(first.refresh_token)).status).toBe(400)
    const introspect = (token: string) => send('/oauth2/introspect', form({ token }, { authorization: FUZZ_INTROSPECTION_BASIC }))
    expect((await introspect(recovery.access_token)).status).toBe(200)
    expect((await introspect('not-a-token-but-long-enough-to-look-like-one')).status).toBe(200)
    expect(
      (
        await send(
          '/oauth2/introspect',
          form({ token: recovery.access_token }, { authorization: 'Basic cnMxOndyb25nLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm' }),
        )
      ).status,
    ).toBe(401)
    secrets.add('wrong introspection secret', 'wrong-secret-0123456789abcdef')
    expect((await send('/oauth2/revoke', form({ token: recovery.refresh_token }))).status).toBe(200)
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, recovery.access_token)).status).toBe(401)
    // A guessed token, a malformed one: what an attacker presents must not be logged either.
    const guessed = 'AAAAAAAAAAAAAAAAAAAAAA.guessedSecretPartOfTheTokenXXXXXXXXXXXXXXXX'
    secrets.add('guessed token', guessed)
    expect((await call(send, 'GET', '/v1/devices', undefined, guessed)).status).toBe(401)

    // The QR device flow: grant, approval, poll, DPoP-bound use; events.
    const holder = await dpopHolder()
    const binding = bindingOf('S')
    secrets.add('channel binding', binding)
    const grant = await requestGrant(send, holder, Date.now(), { channel_binding: binding, device_name: 'Kitchen TV' })
    expect(grant.status).toBe(200)
    secrets.add('device code', grant.codes.device_code)
    secrets.add('user code', grant.codes.user_code)
    const pending = await pollToken(send, holder, Date.now(), grant.codes.device_code)
    expect(pending.status).toBe(400)
    const context = await call(send, 'GET', `/v1/approvals/${encodeURIComponent(grant.codes.user_code)}`, undefined, totp.access_token)
    expect(context.status, JSON.stringify(context.body)).toBe(200)
    let approved = await decide(send, totp.access_token, grant.codes.user_code, {
      decision: 'approve',
      channel_binding: binding,
      dpop_jkt: holder.jkt,
    })
    if (approved.status === 401 && typeof approved.body.session === 'string') {
      approved = await decide(send, totp.access_token, grant.codes.user_code, {
        decision: 'approve',
        channel_binding: binding,
        dpop_jkt: holder.jkt,
        auth: { type: 'm.login.2fa.recovery', session: approved.body.session, code: codes[1] },
      })
    }
    expect(approved.status, JSON.stringify(approved.body)).toBe(200)
    await new Promise((r) => setTimeout(r, 1_100)) // the polling interval
    const minted = await pollToken(send, holder, Date.now(), grant.codes.device_code)
    expect(minted.status, JSON.stringify(minted.body)).toBe(200)
    keep('QR session', minted.body)
    const proof = await holder.prove('GET', `${BASE}/v1/account/whoami`, Date.now(), { accessToken: minted.body.access_token })
    secrets.add('DPoP proof', proof)
    const whoami = await call(send, 'GET', '/v1/account/whoami', undefined, undefined, {
      authorization: `DPoP ${minted.body.access_token}`,
      dpop: proof,
    })
    expect(whoami.status).toBe(200)
    expect(
      (
        await call(send, 'GET', '/v1/account/whoami', undefined, undefined, {
          authorization: `DPoP ${minted.body.access_token}`,
          dpop: proof,
        })
      ).status,
    ).toBe(401) // replayed proof
    const devices = await callWithDpop(send, holder, Date.now(), 'GET', '/v1/devices', minted.body.access_token)
    expect(devices.status, JSON.stringify(devices.body)).toBe(200)
    expect((await call(send, 'GET', '/v1/events', undefined, totp.access_token)).status).toBe(200)

    // Rendezvous: MSC4108 2024, MSC4388, native (creator and joiner secrets, ticket, abort).
    const r2024 = await send(MSC4108_PREFIX, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'payload-one' })
    expect(r2024.status).toBe(201)
    const url2024 = ((await r2024.json()) as { url: string }).url
    const path2024 = new URL(url2024).pathname
    secrets.add('MSC4108 channel id', path2024.split('/').pop())
    const read2024 = await send(path2024, { method: 'GET' })
    const etag = read2024.headers.get('etag') ?? ''
    expect(
      (await send(path2024, { method: 'PUT', headers: { 'content-type': 'text/plain', 'if-match': etag }, body: 'payload-two' })).status,
    ).toBe(202)
    expect(
      (await send(path2024, { method: 'PUT', headers: { 'content-type': 'text/plain', 'if-match': '"stale"' }, body: 'x' })).status,
    ).toBe(412)
    expect((await send(path2024, { method: 'DELETE' })).status).toBe(204)
    expect((await send(path2024, { method: 'GET' })).status).toBe(404)
    const c4388 = await call(send, 'POST', MSC4388_PREFIX, { data: 'aGVsbG8' })
    expect(c4388.status).toBe(200)
    secrets.add('MSC4388 channel id', c4388.body.id)
    secrets.add('MSC4388 sequence token', c4388.body.sequence_token)
    expect(
      (await call(send, 'PUT', `${MSC4388_PREFIX}/${c4388.body.id}`, { data: 'd29ybGQ', sequence_token: c4388.body.sequence_token }))
        .status,
    ).toBe(200)
    expect(
      (await call(send, 'PUT', `${MSC4388_PREFIX}/${c4388.body.id}`, { data: 'eA', sequence_token: c4388.body.sequence_token })).status,
    ).toBe(409)
    const native = await call(send, 'POST', NATIVE_PREFIX, { data: 'aGVsbG8' })
    expect(native.status).toBe(200)
    secrets.add('native channel id', native.body.id)
    secrets.add('creator secret', native.body.creator_secret)
    secrets.add('channel ticket', native.body.ticket)
    const claim = await call(send, 'GET', `${NATIVE_PREFIX}/${native.body.id}`)
    expect(claim.status).toBe(200)
    secrets.add('joiner secret', claim.body.joiner_secret)
    expect((await call(send, 'GET', `${NATIVE_PREFIX}/${native.body.id}`)).status).toBe(403) // a third party
    expect(
      (await call(send, 'POST', `${NATIVE_PREFIX}/${native.body.id}/abort`, { reason: 'user_cancelled' }, native.body.creator_secret))
        .status,
    ).toBe(200)
    const unknownId = 'UnknownChannelIdAAAAAAAA'
    secrets.add('guessed channel id', unknownId)
    expect((await call(send, 'GET', `${MSC4388_PREFIX}/${unknownId}`)).status).toBe(404)
    expect(
      (
        await send('/v1/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: `{"username":"alice","password":"${PASSWORD}"`,
        })
      ).status,
    ).toBe(400)

    // Webhooks: the refused logins and the QR sign-in are delivered.
    const hooks = await receiver.waitFor(1, 10_000)
    await new Promise((r) => setTimeout(r, 300))
    const writes = await target.recorder.end()
    const storeKeys = writes.map((w) => w.key)
    if (scanKeys !== undefined) storeKeys.push(...(await scanKeys(target)))
    return {
      secrets,
      logs,
      errorBodies,
      storeKeys,
      webhookBodies: [...hooks, ...receiver.received].map((h) => `${JSON.stringify(h.headers)} ${h.body}`),
    }
  } finally {
    await target.stop()
    await receiver.close()
  }
}

/** The assertions of every variant: nothing secret in logs, keys, error bodies or webhooks. */
export const expectNoSecrets = (result: ScenarioResult): void => {
  expect(result.logs.length).toBeGreaterThan(20)
  // The logger keeps every level (debug included; QRELAY_LOG_LEVEL=debug turns the access log on).
  expect(result.logs.some((l) => l.includes('"level":"info"'))).toBe(true)
  expect(result.storeKeys.length).toBeGreaterThan(10)
  expect(result.errorBodies.length).toBeGreaterThan(5)
  expect(result.webhookBodies.length).toBeGreaterThan(0)
  const leaks: string[] = []
  for (const [where, texts] of [
    ['log', result.logs],
    ['store key', result.storeKeys],
    ['error body', result.errorBodies],
    ['webhook', result.webhookBodies],
  ] as const) {
    for (const text of texts) {
      for (const found of result.secrets.findIn(text)) {
        leaks.push(`${where}: ${found} in ${text.slice(0, 300)}`)
      }
    }
  }
  expect(leaks).toEqual([])
}
