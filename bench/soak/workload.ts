/**
 * The mixed workload of the soak (`run.ts`): each flow is one function that runs once and throws on
 * anything unexpected; every HTTP answer goes through a counting `fetch`, so the report can list each
 * non-2xx by route and status and tell the protocol's own answers (a UIA 401 with its session, an
 * `authorization_pending` at the token endpoint) from failures.
 *
 * Flows: the MSC4388 relay cycle over HTTP across the two processes; a native channel over WebSocket
 * (G on one process, S on the other, three messages each way); a password login and logout; a whole QR
 * login through the device SDK (device grant with DPoP, approval by a password-signed-in device, the new
 * session signs out again); and long polls of `GET /v1/events` of the approving account.
 */
import WebSocket from 'ws'
import { approveSignIn, ExistingDevice, NewDevice, signIn } from '../../src/client/devices.ts'
import { httpTransport } from '../../src/client/http-transport.ts'
import type { FetchLike } from '../../src/client/native-api.ts'
import type { TransportConnector } from '../../src/client/transport.ts'
import { webSocketTransport } from '../../src/client/ws-transport.ts'

export const PASSWORD = 'correct horse battery staple'
export const ADMIN_TOKEN = 'soak-admin-token-0123456789abcdef012345'
const MSC4388 = '/_matrix/client/unstable/io.element.msc4388/rendezvous'
const PAYLOAD = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkrLzAxMjM0NTY3'

/** Every answer, by `route status[ code]`. */
export class Tally {
  readonly answers = new Map<string, number>()
  readonly failures = new Map<string, number>()
  requests = 0

  add(key: string, map = this.answers): void {
    map.set(key, (map.get(key) ?? 0) + 1)
  }
  /** A flow that threw: counted by flow and message (no secrets are in the SDK's messages). */
  fail(flow: string, error: unknown): void {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    this.add(`${flow}: ${message.slice(0, 160)}`, this.failures)
  }
}

/** The route of a path, ids replaced, for the tally. */
const routeOf = (method: string, url: string): string => {
  const path = new URL(url).pathname.replace(/(rendezvous)\/[^/]+/, '$1/:id').replace(/(approvals|devices)\/[^/]+/, '$1/:x')
  return `${method} ${path}`
}

/** A device's fetch: appears to come from `peer` (the loopback proxy's header is trusted) and is counted. */
export const countedFetch =
  (tally: Tally, peer: string): FetchLike =>
  async (input, init = {}) => {
    const headers = new Headers(init.headers)
    headers.set('x-forwarded-for', peer)
    const method = (init.method ?? 'GET').toUpperCase()
    const url = input
    const res = await fetch(input, { ...init, headers })
    tally.requests++
    let code = ''
    if (res.status >= 300) {
      try {
        const body = (await res.clone().json()) as { errcode?: unknown; error?: unknown; session?: unknown }
        code = String(body.errcode ?? body.error ?? '')
        if (res.status === 401 && typeof body.session === 'string') code = 'uia-session'
      } catch {
        // no JSON body
      }
    }
    tally.add(`${routeOf(method, url)} ${res.status}${code === '' ? '' : ` ${code}`}`)
    return res
  }

/** Whether a counted non-2xx answer is one the protocol itself gives in a normal run. */
export const isProtocolAnswer = (key: string): boolean =>
  / 401 uia-session$/.test(key) || // the first round of a user-interactive auth
  /^DELETE \/v1\/rendezvous\/:id 404 M_NOT_FOUND$/.test(key) || // the second party's close after the first deleted the channel
  // The approver's courtesy LOGIN_APPROVED (approve.ts drops its failure) after the new device, already
  // signed in through its token poll, closed the channel: the faster the poll, the likelier.
  /^PUT \/v1\/rendezvous\/:id 404 M_NOT_FOUND$/.test(key) ||
  /^POST \/oauth2\/token 400 (authorization_pending|slow_down)$/.test(key) // a device grant not approved yet

/** The two processes and where each device appears from. */
export interface Targets {
  a: string
  b: string
  /** The public base URL both stand behind (DPoP `htu`, tickets). */
  publicBaseUrl: string
}

const json = async (f: FetchLike, url: string, method: string, body?: unknown, token?: string): Promise<{ status: number; body: any }> => {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  const res = await f(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const text = await res.text()
  return { status: res.status, body: text === '' ? {} : JSON.parse(text) }
}

const expectStatus = (what: string, got: { status: number; body: any }, want: number): void => {
  if (got.status !== want) throw new Error(`${what}: ${got.status} ${String(got.body?.errcode ?? got.body?.error ?? '')}`)
}

/** Creates `username` (admin endpoint). */
export const createUser = async (tally: Tally, base: string, username: string): Promise<void> => {
  expectStatus(
    'create user',
    await json(countedFetch(tally, '198.51.100.1'), `${base}/v1/admin/users`, 'POST', { username, password: PASSWORD }, ADMIN_TOKEN),
    201,
  )
}

/** A password login (two UIA rounds); returns the Bearer access token. */
export const passwordLogin = async (tally: Tally, base: string, peer: string, username: string): Promise<string> => {
  const f = countedFetch(tally, peer)
  const body = { username, initial_device_display_name: 'Soak phone' }
  const first = await json(f, `${base}/v1/login`, 'POST', body)
  expectStatus('login round 1', first, 401)
  const done = await json(f, `${base}/v1/login`, 'POST', {
    ...body,
    auth: { type: 'm.login.password', session: first.body.session, password: PASSWORD },
  })
  expectStatus('login round 2', done, 200)
  return done.body.access_token as string
}

/** Signs a Bearer session out. */
export const logout = async (tally: Tally, base: string, peer: string, token: string): Promise<void> => {
  expectStatus('logout', await json(countedFetch(tally, peer), `${base}/v1/logout`, 'POST', {}, token), 200)
}

/** A password login on one process and its logout on the other. */
export const loginLogout = async (tally: Tally, t: Targets, peer: string, username: string, flip: boolean): Promise<void> => {
  const [first, second] = flip ? [t.b, t.a] : [t.a, t.b]
  await logout(tally, second, peer, await passwordLogin(tally, first, peer, username))
}

/** The MSC4388 login cycle: create at A, PUT at B, GET at A and B, DELETE at B. */
export const relayCycle = async (tally: Tally, t: Targets, peer: string): Promise<void> => {
  const f = countedFetch(tally, peer)
  const created = await json(f, `${t.a}${MSC4388}`, 'POST', { data: '' })
  expectStatus('msc4388 create', created, 200)
  const at = (base: string) => `${base}${MSC4388}/${created.body.id as string}`
  const put = await json(f, at(t.b), 'PUT', { sequence_token: created.body.sequence_token, data: PAYLOAD })
  expectStatus('msc4388 put', put, 200)
  expectStatus('msc4388 get a', await json(f, at(t.a), 'GET'), 200)
  expectStatus('msc4388 get b', await json(f, at(t.b), 'GET'), 200)
  const deleted = await f(at(t.b), { method: 'DELETE' })
  await deleted.arrayBuffer()
  if (deleted.status !== 200 && deleted.status !== 204) throw new Error(`msc4388 delete: ${deleted.status}`)
}

const connector = (tally: Tally, kind: 'http' | 'ws', base: string, peer: string): TransportConnector =>
  kind === 'http'
    ? httpTransport({ baseUrl: base, pollIntervalMs: 250, fetch: countedFetch(tally, peer) })
    : webSocketTransport({ baseUrl: base, WebSocket, pingIntervalMs: 5000, fetch: countedFetch(tally, peer) })

/** A native channel over WebSocket: G shows at A, S scans at B, three messages each way, closed. */
export const wsRelay = async (tally: Tally, t: Targets, peer: string): Promise<void> => {
  const pub = { publicBaseUrl: t.publicBaseUrl }
  const shown = await ExistingDevice.showQr({
    baseUrl: t.a,
    fetch: countedFetch(tally, peer),
    transport: connector(tally, 'ws', t.a, peer),
    ...pub,
  })
  try {
    const scan = await NewDevice.scanQr(shown.qrLink, {
      baseUrl: t.b,
      fetch: countedFetch(tally, peer),
      transport: connector(tally, 'ws', t.b, peer),
      ...pub,
    })
    try {
      await Promise.all([shown.waitForPeer({ timeoutMs: 15_000 }), scan.connect({ timeoutMs: 15_000 })])
      await shown.confirmCheckCode(scan.checkCode)
      for (let i = 0; i < 3; i++) {
        await Promise.all([scan.send({ type: 'ping', n: i }), shown.receive({ timeoutMs: 15_000 })])
        await Promise.all([shown.send({ type: 'pong', n: i }), scan.receive({ timeoutMs: 15_000 })])
      }
    } finally {
      await scan.close().catch(() => {})
    }
  } finally {
    await shown.close().catch(() => {})
  }
}

/**
 * A whole QR login: the new device shows the QR at A (HTTP or WebSocket by `kind`), the existing
 * device (signed in with `approverToken`) scans it at B and approves; the new device gets DPoP-bound
 * tokens, checks them with whoami and signs out.
 */
export const qrLogin = async (tally: Tally, t: Targets, approverToken: string, kind: 'http' | 'ws'): Promise<void> => {
  const pub = { publicBaseUrl: t.publicBaseUrl }
  const tv = '198.51.100.77'
  const phone = '198.51.100.20'
  const newOptions = { baseUrl: t.a, fetch: countedFetch(tally, tv), transport: connector(tally, kind, t.a, tv), ...pub }
  const existingOptions = { baseUrl: t.b, fetch: countedFetch(tally, phone), transport: connector(tally, kind, t.b, phone), ...pub }
  const shown = await NewDevice.showQr(newOptions)
  const scan = await ExistingDevice.scanQr(shown.qrLink, existingOptions)
  try {
    await Promise.all([shown.waitForPeer({ timeoutMs: 15_000 }), scan.connect({ timeoutMs: 15_000 })])
    await shown.confirmCheckCode(scan.checkCode)
    const [session, approval] = await Promise.all([
      signIn(shown, { ...newOptions, deviceName: 'Soak TV' }),
      approveSignIn(scan, { ...existingOptions, accessToken: approverToken, timeoutMs: 30_000, confirm: () => true }),
    ])
    if (approval.status !== 'approved') throw new Error(`approval ${approval.status}`)
    const me = await session.authorizedFetch('/v1/account/whoami')
    await me.arrayBuffer()
    if (me.status !== 200) throw new Error(`whoami: ${me.status}`)
    const out = await session.authorizedFetch('/v1/logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    await out.arrayBuffer()
    if (out.status !== 200) throw new Error(`logout of the QR session: ${out.status}`)
  } finally {
    await Promise.all([shown.close().catch(() => {}), scan.close().catch(() => {})])
  }
}

/** One long poll of the account's events (at most `timeoutMs`); returns the next `since`. */
export const eventsPoll = async (
  tally: Tally,
  base: string,
  peer: string,
  token: string,
  since: number,
  timeoutMs: number,
): Promise<number> => {
  const got = await json(countedFetch(tally, peer), `${base}/v1/events?since=${since}&timeout_ms=${timeoutMs}`, 'GET', undefined, token)
  expectStatus('events', got, 200)
  return Number(got.body.next_since ?? since)
}
