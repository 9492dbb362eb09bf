/**
 * A small client of the account API for tests: JSON requests through `app.request()` (or `fetch` on a
 * real server), and the UIA dances (login with password then TOTP or a recovery code, UIA-protected
 * calls) spelled out once.
 */
import { expect } from 'vitest'
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'

/** Anything that answers a Request: `app.request` or a fetch against a base URL. */
export type Send = (path: string, init: RequestInit) => Promise<Response>

/** A parsed response. */
export interface Answer {
  status: number
  body: Record<string, any>
}

/** `Send` through a Hono app. */
export const viaApp =
  (app: { request: (path: string, init: RequestInit) => Response | Promise<Response> }, peer = '192.0.2.1'): Send =>
  async (path, init) =>
    app.request(path, { ...init, headers: { 'x-test-peer': peer, ...(init.headers as Record<string, string>) } })

/**
 * `Send` through fetch to a real server; every answer is checked against the OpenAPI document
 * (`served-check.ts`, loaded on first use: the tests inside workerd import this file too).
 */
export const viaFetch =
  (baseUrl: string): Send =>
  async (path, init) => {
    const { checkedFetch } = await import('./served-check.ts')
    return checkedFetch(`${baseUrl}${path}`, init)
  }

/** One JSON request. */
export const call = async (
  send: Send,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  headers: Record<string, string> = {},
): Promise<Answer> => {
  const h: Record<string, string> = { ...headers }
  if (body !== undefined) h['content-type'] = 'application/json'
  if (token !== undefined) h.authorization = `Bearer ${token}`
  const res = await send(path, { method, headers: h, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const text = await res.text()
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, any>) }
}

/** A second factor to answer after the password, or none. */
export type SecondFactor = { type: 'm.login.2fa.totp' | 'm.login.2fa.recovery'; code: string } | undefined

/**
 * Runs a UIA-protected request to completion: first round, password, then the second factor if the
 * server asks. Returns the final answer (whatever its status) and every intermediate answer.
 */
export const withUia = async (
  send: Send,
  method: string,
  path: string,
  body: Record<string, unknown>,
  password: string,
  second?: SecondFactor,
  token?: string,
): Promise<{ final: Answer; rounds: Answer[] }> => {
  const rounds: Answer[] = []
  const first = await call(send, method, path, body, token)
  rounds.push(first)
  if (first.status !== 401 || typeof first.body.session !== 'string') return { final: first, rounds }
  const session = first.body.session as string
  const afterPassword = await call(send, method, path, { ...body, auth: { type: 'm.login.password', session, password } }, token)
  rounds.push(afterPassword)
  if (afterPassword.status !== 401 || second === undefined) return { final: afterPassword, rounds }
  const final = await call(send, method, path, { ...body, auth: { type: second.type, session, code: second.code } }, token)
  rounds.push(final)
  return { final, rounds }
}

/** Logs in and expects success; returns the tokens body. */
export const login = async (
  send: Send,
  username: string,
  password: string,
  second?: SecondFactor,
  deviceName = 'Test device',
): Promise<Record<string, any>> => {
  const { final } = await withUia(send, 'POST', '/v1/login', { username, initial_device_display_name: deviceName }, password, second)
  expect(final.status, JSON.stringify(final.body)).toBe(200)
  return final.body
}

/** A form-encoded refresh through `POST /oauth2/token`. */
export const refresh = async (send: Send, refreshToken: string): Promise<Answer> => {
  const res = await send('/oauth2/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  })
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}

/**
 * Signs `username` in on a new device (named `deviceName`) and keeps its access token fresh: each
 * `token(via)` refreshes through `via` (any instance or address) and answers the new access token, so a
 * test can let the fake clock run for days between requests.
 */
export const refreshingSession = async (send: Send, username: string, password: string, deviceName: string) => {
  const body = await login(send, username, password, undefined, deviceName)
  let refreshToken = body.refresh_token as string
  return {
    deviceId: body.device_id as string,
    token: async (via: Send): Promise<string> => {
      const next = await refresh(via, refreshToken)
      expect(next.status).toBe(200)
      refreshToken = next.body.refresh_token as string
      return next.body.access_token as string
    },
  }
}

/**
 * Turns TOTP on for the session `token` (UIA with `password`, then a code at `nowMs`): its key and the
 * recovery codes the confirmation hands out.
 */
export const enrolTotp = async (send: Send, token: string, password: string, nowMs: number) => {
  const begun = await withUia(send, 'POST', '/v1/account/totp', {}, password, undefined, token)
  expect(begun.final.status).toBe(200)
  const key = totpSecretFromBase32(begun.final.body.secret as string)
  if (!key.ok) throw new Error('bad secret')
  const confirmed = await call(send, 'POST', '/v1/account/totp/confirm', { code: generateTotp(key.value.bytes(), nowMs) }, token)
  expect(confirmed.status).toBe(200)
  return { key: key.value, codes: confirmed.body.recovery_codes as string[] }
}
