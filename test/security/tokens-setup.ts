/**
 * Shared setup of the token regression tests: an app on the memory stores with a password account
 * ("alice", signed in with a Bearer session) and a QR-minted, DPoP-bound session of a second device.
 */
import { expect } from 'vitest'
import { StoreUnavailableError } from '../../src/core/store-unavailable.ts'
import type { DurableStore, EphemeralStore } from '../../src/ports.ts'
import { call, login, viaApp, type Answer, type Send } from '../helpers/account-client.ts'
import { dpopHolder, type DpopHolder } from '../helpers/dpop.ts'
import { fakeClock, type FakeClock } from '../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { BASE, bindingOf, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

export const PASSWORD = 'correct horse battery staple'
export { ADMIN_TOKEN, BASE }

export interface TokenSetup {
  t: TestApp
  clock: FakeClock
  /** The approving (password) device. */
  send: Send
  bearer: Record<string, any>
  /** The QR-minted device and its DPoP key. */
  qrSend: Send
  holder: DpopHolder
  qr: Record<string, any>
}

/** Builds the app and both sessions. */
export const tokenSetup = async (
  env: Record<string, string> = {},
  durable?: (clock: FakeClock) => DurableStore,
  stores: { store?: (clock: FakeClock) => EphemeralStore; startMs?: number } = {},
): Promise<TokenSetup> => {
  const clock = fakeClock(stores.startMs ?? Date.UTC(2026, 10, 22))
  const t = makeApp({
    env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', ...env },
    clock,
    ...(durable === undefined ? {} : { durable }),
    ...(stores.store === undefined ? {} : { store: stores.store }),
  })
  const send = viaApp(t.app, '198.51.100.20')
  expect((await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
  const bearer = await login(send, 'alice', PASSWORD)
  const holder = await dpopHolder()
  const qrSend = viaApp(t.app, '198.51.100.77')
  const { codes } = await requestGrant(qrSend, holder, clock.now(), { channel_binding: bindingOf('Q') })
  const decided = await decide(send, bearer.access_token, codes.user_code, {
    decision: 'approve',
    channel_binding: bindingOf('Q'),
    dpop_jkt: holder.jkt,
  })
  expect(decided.status, JSON.stringify(decided.body)).toBe(200)
  const minted = await pollToken(qrSend, holder, clock.now(), codes.device_code)
  expect(minted.status, JSON.stringify(minted.body)).toBe(200)
  return { t, clock, send, bearer, qrSend, holder, qr: minted.body }
}

/** A request with `Authorization: DPoP` and one fresh proof (htu without the query, RFC 9449 §4.2). */
export const dpopCall = async (
  s: Pick<TokenSetup, 'qrSend' | 'holder' | 'clock'>,
  method: string,
  path: string,
  accessToken: string,
  body?: unknown,
  extra: Record<string, string> = {},
): Promise<Answer & { headers: Headers }> => {
  const proof = await s.holder.prove(method, `${BASE}${path.split('?')[0]}`, s.clock.now(), { accessToken })
  const headers: Record<string, string> = { authorization: `DPoP ${accessToken}`, dpop: proof, ...extra }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await s.qrSend(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, any>) }
}

/** A form POST to the OAuth endpoints, optionally with a DPoP proof for `path`. */
export const oauthForm = async (
  s: Pick<TokenSetup, 'qrSend' | 'clock'>,
  path: string,
  fields: Record<string, string>,
  holder?: DpopHolder,
): Promise<Answer & { headers: Headers }> => {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  if (holder !== undefined) headers.dpop = await holder.prove('POST', `${BASE}${path}`, s.clock.now())
  const res = await s.qrSend(path, { method: 'POST', headers, body: new URLSearchParams(fields).toString() })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, any>) }
}

export { viaApp }

/**
 * A durable store whose token methods (and the session mint, `devices.createWithTokens`) fail once when armed, before or after doing their work (a
 * write that committed but whose answer was lost), with StoreUnavailableError.
 */
export const flakyDurable = (inner: (clock: FakeClock) => DurableStore) => {
  const armed = new Map<string, 'before' | 'after'>()
  const make = (clock: FakeClock): DurableStore => {
    const store = inner(clock)
    const wrap =
      <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        const when = armed.get(name)
        armed.delete(name)
        if (when === 'before') throw new StoreUnavailableError(`${name} failed`)
        const result = await fn(...args)
        if (when === 'after') throw new StoreUnavailableError(`${name} failed after committing`)
        return result
      }
    return {
      ...store,
      devices: { ...store.devices, createWithTokens: wrap('createWithTokens', store.devices.createWithTokens) },
      tokens: {
        ...store.tokens,
        putAccess: wrap('putAccess', store.tokens.putAccess),
        rotateRefresh: wrap('rotateRefresh', store.tokens.rotateRefresh),
        createRefreshFamily: wrap('createRefreshFamily', store.tokens.createRefreshFamily),
      },
    }
  }
  return { armed, make }
}
