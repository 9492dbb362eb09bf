/**
 * Fault: the Redis behind qrelay is killed (SIGKILL by PID) in the middle of a QR login, after the
 * approval and before the new device redeemed its grant, then restarted on the same port and data.
 * While it is down every store-bound request answers 503 with Retry-After within about a second;
 * afterwards the same process (no restart) finishes the login, mints exactly one device, and nothing
 * written before the kill is lost (the approved grant, the sessions) or comes back (a signed-out
 * session). Redis runs with `appendonly yes` + `appendfsync always`, what qrelay requires of it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.ts'
import { startNodeServer, type RunningServer } from '../../src/runtime/node-server.ts'
import { call, viaFetch, withUia, type Answer, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { E2E_ENV, PASSWORD } from '../integration/approval/e2e-harness.ts'
import { ADMIN_TOKEN } from '../integration/accounts/flow-suite.ts'
import { hasRedisServer, ownRedis, type OwnRedis } from './own-redis.ts'

const PUBLIC = 'https://relay.example'
const BINDING = 'R'.repeat(43)
const { QRELAY_TRUSTED_PROXY_HEADER: _proxy, ...ENV } = E2E_ENV
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** How long a request may take to answer 503 while Redis is gone: the command timeout plus slack. */
const UNAVAILABLE_WITHIN_MS = 1500

/** One request, timed, with its Retry-After header. */
const timed = async (send: Send, path: string, init: RequestInit): Promise<{ status: number; ms: number; retryAfter: string | null }> => {
  const started = performance.now()
  const res = await send(path, init)
  await res.arrayBuffer()
  return { status: res.status, ms: performance.now() - started, retryAfter: res.headers.get('retry-after') }
}

const passwordLogin = async (send: Send, name: string): Promise<Record<string, any>> => {
  const { final } = await withUia(send, 'POST', '/v1/login', { username: 'alice', initial_device_display_name: name }, PASSWORD)
  expect(final.status, JSON.stringify(final.body)).toBe(200)
  return final.body
}

describe.skipIf(!hasRedisServer())('faults: Redis killed mid QR login and restarted', () => {
  let redis: OwnRedis
  let server: RunningServer
  let dir: string

  beforeAll(async () => {
    redis = await ownRedis()
    dir = await mkdtemp(join(tmpdir(), 'qrelay-faults-'))
    const config = parseConfig({
      ...ENV,
      QRELAY_PORT: '0',
      QRELAY_DATA_DIR: dir,
      QRELAY_STORE: 'redis',
      QRELAY_REDIS_URL: redis.url,
      QRELAY_REDIS_KEY_PREFIX: 'faults:',
      QRELAY_PUBLIC_BASE_URL: PUBLIC,
      QRELAY_UIA_KEY: '33'.repeat(32),
    })
    server = await startNodeServer(config)
  }, 30_000)

  afterAll(async () => {
    await server?.stop()
    await redis?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('answers 503 + Retry-After within ~1 s while Redis is down, then finishes the login once, losing and resurrecting nothing', async () => {
    const send = viaFetch(server.url)
    expect((await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const phone = await passwordLogin(send, 'Phone')
    const gone = await passwordLogin(send, 'Old laptop')
    expect((await call(send, 'POST', '/v1/logout', {}, gone.access_token)).status).toBe(200)

    // The QR login up to the approval.
    const holder = await dpopHolder()
    const grant = await requestGrant(send, holder, Date.now(), { channel_binding: BINDING, device_name: 'New laptop' })
    expect(grant.status, JSON.stringify(grant.body)).toBe(200)
    const approved = await decide(send, phone.access_token, grant.codes.user_code, {
      decision: 'approve',
      channel_binding: BINDING,
      dpop_jkt: holder.jkt,
    })
    expect(approved.body).toMatchObject({ status: 'approved' })

    // Fault: Redis is killed before the new device redeems.
    await redis.kill()
    const tokenPoll = async () => {
      const proof = await holder.prove('POST', `${PUBLIC}/oauth2/token`, Date.now())
      return timed(send, '/oauth2/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: grant.codes.device_code,
        }).toString(),
      })
    }
    const down = [
      await tokenPoll(),
      await timed(send, '/v1/devices', { headers: { authorization: `Bearer ${phone.access_token}` } }),
      await timed(send, '/v1/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice' }),
      }),
      await timed(send, '/readyz', {}),
    ]
    for (const answer of down) {
      expect(answer.status).toBe(503)
      expect(answer.ms).toBeLessThan(UNAVAILABLE_WITHIN_MS)
    }
    for (const answer of down.slice(0, 3)) expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1)

    // Redis is back on the same port and data: the same process recovers by itself.
    await redis.start()
    let redeemed: Answer | undefined
    const statuses: number[] = []
    for (let i = 0; i < 20 && redeemed === undefined; i++) {
      await sleep(1100) // the grant's poll interval
      const poll = await pollToken(send, holder, Date.now(), grant.codes.device_code, {
        proof: await holder.prove('POST', `${PUBLIC}/oauth2/token`, Date.now()),
      })
      statuses.push(poll.status)
      if (poll.status === 200) redeemed = poll
      else expect([503, 400]).toContain(poll.status)
    }
    expect(redeemed, `polls: ${statuses.join(',')}`).toBeDefined()
    const token = redeemed!.body.access_token as string
    expect((await callWithDpop(send, holder, Date.now(), 'GET', '/v1/account/whoami', token)).status).toBe(200)

    // Nothing minted twice: the device code polled again (within the retry grace) gets the same
    // tokens, and the account has exactly one new device.
    await sleep(1100)
    const again = await pollToken(send, holder, Date.now(), grant.codes.device_code)
    expect(again.status).toBe(200)
    expect([again.body.access_token, again.body.device_id]).toEqual([token, redeemed!.body.device_id])
    const devices = await call(send, 'GET', '/v1/devices', undefined, phone.access_token)
    expect(devices.status).toBe(200)
    const names = (devices.body.devices as Array<{ display_name?: string }>).map((d) => d.display_name).sort()
    expect(names).toEqual(['New laptop', 'Phone'])

    // Nothing lost, nothing resurrected: the phone's session still works, the signed-out one does not.
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, phone.access_token)).status).toBe(200)
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, gone.access_token)).body.errcode).toBe('M_UNKNOWN_TOKEN')
    expect((await call(send, 'GET', '/readyz')).status).toBe(200)
    console.info(
      `faults/redis-restart: while down: ${down.map((d) => `${d.status} in ${d.ms | 0} ms (Retry-After ${d.retryAfter})`).join(', ')}; polls after the restart: ${statuses.join(',')}`,
    )
  }, 60_000)
})
