/**
 * The HTTP steps of a QR login for tests, spelled out once: the new device asks for a grant with a
 * DPoP proof and its channel binding, the existing device decides, the new device polls, and uses its
 * DPoP-bound token. Works over `app.request()` or fetch (see `Send`).
 */
import { call, type Answer, type Send } from './account-client.ts'
import type { DpopHolder } from './dpop.ts'

export const BASE = 'https://relay.example'
/** A channel binding (43 base64url characters), as the two devices would derive. */
export const bindingOf = (seed: string): string => seed.repeat(43).slice(0, 43)

/** Codes handed to the new device. */
export interface GrantCodes {
  device_code: string
  user_code: string
  interval: number
  expires_in: number
}

const form = (fields: Record<string, string>): RequestInit & { headers: Record<string, string> } => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
})

const answer = async (res: Response): Promise<Answer> => ({ status: res.status, body: (await res.json()) as Record<string, any> })

/** `POST /oauth2/device_authorization` by the new device. */
export const requestGrant = async (
  send: Send,
  holder: DpopHolder,
  nowMs: number,
  fields: { channel_binding: string; device_name?: string },
  headers: Record<string, string> = {},
): Promise<Answer & { codes: GrantCodes }> => {
  const init = form(fields)
  init.headers.dpop = await holder.prove('POST', `${BASE}/oauth2/device_authorization`, nowMs)
  Object.assign(init.headers, headers)
  const a = await answer(await send('/oauth2/device_authorization', init))
  return { ...a, codes: a.body as GrantCodes }
}

/** One poll of `POST /oauth2/token` with the device-code grant. */
export const pollToken = async (
  send: Send,
  holder: DpopHolder,
  nowMs: number,
  deviceCode: string,
  options: { proof?: string; headers?: Record<string, string> } = {},
): Promise<Answer> => {
  const init = form({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode })
  init.headers.dpop = options.proof ?? (await holder.prove('POST', `${BASE}/oauth2/token`, nowMs))
  Object.assign(init.headers, options.headers ?? {})
  return answer(await send('/oauth2/token', init))
}

/** `POST /v1/approvals/{user_code}` by the existing device. */
export const decide = (
  send: Send,
  token: string,
  userCode: string,
  body: { decision: 'approve' | 'decline'; channel_binding: string; dpop_jkt: string; auth?: Record<string, unknown> },
): Promise<Answer> => call(send, 'POST', `/v1/approvals/${encodeURIComponent(userCode)}`, body, token)

/** A request with a DPoP-bound access token and a fresh proof. */
export const callWithDpop = async (
  send: Send,
  holder: DpopHolder,
  nowMs: number,
  method: string,
  path: string,
  accessToken: string,
  body?: unknown,
): Promise<Answer> => {
  const proof = await holder.prove(method, `${BASE}${path}`, nowMs, { accessToken })
  return call(send, method, path, body, undefined, { authorization: `DPoP ${accessToken}`, dpop: proof })
}
