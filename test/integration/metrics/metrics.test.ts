/**
 * `GET /metrics` against a real server on port 0 (memory + SQLite): the token protection, then a
 * password login, a whole QR login through the device SDK and a refresh, each read back from a scrape
 * as the counters it must have moved; route labels are patterns, and no secret of the run (channel
 * id, tokens, the metrics token) appears anywhere in the exposition.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseChannelLink } from '../../../src/core/channel/qr-link.ts'
import { parseConfig } from '../../../src/config.ts'
import { startNodeServer, type RunningServer } from '../../../src/runtime/node-server.ts'
import { withUia } from '../../helpers/account-client.ts'
import { E2E_ENV, HOME, HOME_TOO, createUser, fetchFrom, passwordLogin, qrLogin, type DeviceAt } from '../approval/e2e-harness.ts'
import { hasSample, parseExposition, sampleValue, type Sample } from '../../helpers/prometheus-scrape.ts'

const METRICS_TOKEN = 'metrics-token-0123456789abcdefghijklmnop'
const DENIED = '203.0.113.99'

let server: RunningServer
let dataDir: string
let phone: DeviceAt
let tv: DeviceAt

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'qrelay-metrics-'))
  server = await startNodeServer(
    parseConfig({
      ...E2E_ENV,
      QRELAY_PORT: '0',
      QRELAY_DATA_DIR: dataDir,
      QRELAY_METRICS_ENABLED: 'true',
      QRELAY_METRICS_TOKEN: METRICS_TOKEN,
      QRELAY_POLICY_DENIED_NETWORKS: `${DENIED}/32`,
    }),
  )
  phone = { baseUrl: server.url, peer: HOME }
  tv = { baseUrl: server.url, peer: HOME_TOO }
  await createUser(phone, 'alice')
})
afterAll(async () => {
  await server?.stop()
  await rm(dataDir, { recursive: true, force: true })
})

const scrapeText = async (): Promise<string> => {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  expect(res.status).toBe(200)
  return res.text()
}
const scrape = async (): Promise<Sample[]> => parseExposition(await scrapeText())

/** How much each named sample moved between two scrapes. */
const delta = (before: Sample[], after: Sample[], name: string, labels: Record<string, string> = {}): number =>
  sampleValue(after, name, labels) - sampleValue(before, name, labels)

describe('GET /metrics', () => {
  it('answers 401 without the token or with a wrong one, 200 in the Prometheus text format with it', async () => {
    const none = await fetch(`${server.url}/metrics`)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toContain('Bearer')
    expect(await none.json()).toMatchObject({ qrelay_code: 'MISSING_TOKEN' })
    const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer not-the-metrics-token-at-all-0123456789' } })
    expect(wrong.status).toBe(401)
    expect(await wrong.json()).toMatchObject({ qrelay_code: 'INVALID_TOKEN' })
    const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(ok.headers.get('cache-control')).toBe('no-store')
    const samples = parseExposition(await ok.text())
    for (const name of [
      'qrelay_channels_live',
      'qrelay_websockets_open',
      'qrelay_webhook_queue_depth',
      'qrelay_process_cpu_seconds_total',
    ]) {
      expect(hasSample(samples, name), name).toBe(true)
    }
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405)
  })

  it('counts a password login, a wrong password, a QR login and a refresh, and times the requests by route', async () => {
    const before = await scrape()
    const token = await passwordLogin(phone, 'alice')
    const wrong = await withUia(
      (path, init) => fetchFrom(HOME)(`${server.url}${path}`, init),
      'POST',
      '/v1/login',
      { username: 'alice' },
      'not the password',
    )
    expect(wrong.final.body).toMatchObject({ errcode: 'M_FORBIDDEN' })
    const outcome = await qrLogin({ intent: 'new shows', newAt: tv, existingAt: phone, accessToken: token })
    const session = outcome.session
    if (session instanceof Error) throw session
    expect(outcome.approval).toMatchObject({ status: 'approved' })
    await session.refresh()
    const after = await scrape()

    expect(delta(before, after, 'qrelay_logins_total', { method: 'password', outcome: 'success' })).toBe(1)
    expect(delta(before, after, 'qrelay_logins_total', { method: 'password', outcome: 'wrong_password' })).toBe(1)
    expect(delta(before, after, 'qrelay_logins_total', { method: 'qr', outcome: 'success' })).toBe(1)
    expect(delta(before, after, 'qrelay_approvals_total', { outcome: 'approved', reason: 'none' })).toBe(1)
    expect(delta(before, after, 'qrelay_token_requests_total', { grant_type: 'device_code', error: 'none' })).toBe(1)
    expect(delta(before, after, 'qrelay_token_requests_total', { grant_type: 'refresh_token', error: 'none' })).toBe(1)
    expect(delta(before, after, 'qrelay_channels_created_total', { api: 'native' })).toBe(1)
    expect(delta(before, after, 'qrelay_channels_completed_total', { api: 'native' })).toBe(1)
    // Both devices close the channel at the end: the first delete takes it, the second finds it gone.
    expect(delta(before, after, 'qrelay_channels_deleted_total', { api: 'native' })).toBe(1)
    const tokenPolls = { method: 'POST', route: '/oauth2/token', status: '200' }
    expect(delta(before, after, 'qrelay_http_request_duration_seconds_count', tokenPolls)).toBe(2)
    expect(sampleValue(after, 'qrelay_http_request_duration_seconds_bucket', { ...tokenPolls, le: '+Inf' })).toBe(
      sampleValue(after, 'qrelay_http_request_duration_seconds_count', tokenPolls),
    )
    expect(delta(before, after, 'qrelay_store_operation_duration_seconds_count', { port: 'channels', operation: 'create' })).toBe(1)
    expect(delta(before, after, 'qrelay_store_operation_duration_seconds_count', { port: 'devices', operation: 'createWithTokens' })).toBe(
      2,
    )

    // Route labels are patterns: never a channel id, a user code or any other path segment a client chose.
    const routes = new Set(after.filter((s) => s.labels.route !== undefined).map((s) => s.labels.route))
    expect([...routes].filter((r) => !/^\/[/a-z0-9_.*:-]*$/i.test(r as string) || /[A-Za-z0-9_-]{32,}/.test(r as string))).toEqual([])
    expect(routes).toContain('/v1/rendezvous/:id')

    const parsed = parseChannelLink(outcome.shown.qrLink, server.url)
    if (!parsed.ok) throw new Error(parsed.detail)
    const text = await scrapeText()
    for (const secret of [parsed.value.channelId, token, session.accessToken, session.refreshToken, METRICS_TOKEN]) {
      expect(text).not.toContain(secret)
    }
  })

  it('counts a channel claimed over a WebSocket as completed, like one claimed over HTTP', async () => {
    const token = await passwordLogin(phone, 'alice')
    const before = await scrape()
    const outcome = await qrLogin({
      intent: 'existing shows',
      newAt: tv,
      existingAt: phone,
      newTransport: 'ws',
      existingTransport: 'ws',
      accessToken: token,
    })
    expect(outcome.approval).toMatchObject({ status: 'approved' })
    const after = await scrape()
    expect(delta(before, after, 'qrelay_channels_created_total', { api: 'native' })).toBe(1)
    expect(delta(before, after, 'qrelay_channels_completed_total', { api: 'native' })).toBe(1)
    expect(delta(before, after, 'qrelay_logins_total', { method: 'qr', outcome: 'success' })).toBe(1)
    // An upgrade is one request (status 200 as the runtime answers it, the handshake's duration).
    expect(
      delta(before, after, 'qrelay_http_request_duration_seconds_count', { method: 'GET', route: '/v1/rendezvous/:id/ws', status: '200' }),
    ).toBe(2)
  })

  it('counts a policy denial by reason, and answers an unknown path under a pattern', async () => {
    const before = await scrape()
    const refused = await fetchFrom(DENIED)(`${server.url}/_matrix/client/unstable/org.matrix.msc4108/rendezvous`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    })
    expect(refused.status).toBe(403)
    const unknown = await fetch(`${server.url}/no/such/secret-looking-path-0123456789abcdef`)
    expect(unknown.status).toBe(404)
    const after = await scrape()
    expect(delta(before, after, 'qrelay_policy_denials_total', { reason: 'network_denied' })).toBe(1)
    const text = await scrapeText()
    expect(text).not.toContain('secret-looking-path')
  })
})

describe('GET /metrics without a token', () => {
  it('is said at start when the server listens beyond loopback, and not on loopback', async () => {
    const warnings = async (host: string): Promise<string[]> => {
      const seen: string[] = []
      const logger = {
        debug: () => {},
        info: () => {},
        warn: (_: Record<string, unknown>, message: string) => void seen.push(message),
        error: () => {},
        child: () => logger,
      }
      const dir = await mkdtemp(join(tmpdir(), 'qrelay-metrics-open-'))
      const open = await startNodeServer(
        parseConfig({
          QRELAY_PORT: '0',
          QRELAY_HOST: host,
          QRELAY_PUBLIC_BASE_URL: 'https://relay.example',
          QRELAY_DATA_DIR: dir,
          QRELAY_METRICS_ENABLED: 'true',
        }),
        { logger },
      )
      await open.stop()
      await rm(dir, { recursive: true, force: true })
      return seen.filter((message) => message.includes('QRELAY_METRICS_TOKEN'))
    }
    expect(await warnings('0.0.0.0')).toEqual(['QRELAY_METRICS_TOKEN is unset: GET /metrics answers anyone who reaches this address'])
    expect(await warnings('127.0.0.1')).toEqual([])
  })
})
