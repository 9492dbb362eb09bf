/**
 * Fault: a slow network between qrelay and Redis (a TCP proxy holding every chunk). With 200 ms each
 * way a whole QR login still completes, each request within a bound; with a delay past the Redis
 * command timeout (QRELAY_REDIS_COMMAND_TIMEOUT_MS, 800 ms here) requests answer 503 + Retry-After within about that timeout instead of hanging;
 * once the network is fast again the same process serves normally.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.ts'
import { startNodeServer, type RunningServer } from '../../src/runtime/node-server.ts'
import { call, viaFetch, withUia, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { E2E_ENV, PASSWORD } from '../integration/approval/e2e-harness.ts'
import { ADMIN_TOKEN } from '../integration/accounts/flow-suite.ts'
import { hasRedisServer, ownRedis, type OwnRedis } from './own-redis.ts'
import { slowProxy, type SlowProxy } from './slow-proxy.ts'

const PUBLIC = 'https://relay.example'
const BINDING = 'S'.repeat(43)
const { QRELAY_TRUSTED_PROXY_HEADER: _proxy, ...ENV } = E2E_ENV
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Longest a request of the QR login may take over a Redis 200 ms away (each way). */
const SLOW_REQUEST_BOUND_MS = 10_000
/** The command timeout this test sets (QRELAY_REDIS_COMMAND_TIMEOUT_MS, default 1000). */
const COMMAND_TIMEOUT_MS = 800
/** Longest a request may take to give up on a Redis slower than the command timeout. */
const GIVE_UP_BOUND_MS = COMMAND_TIMEOUT_MS + 1000

const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = performance.now()
  const value = await work()
  return { value, ms: performance.now() - started }
}

describe.skipIf(!hasRedisServer())('faults: slow Redis', () => {
  let redis: OwnRedis
  let proxy: SlowProxy
  let server: RunningServer
  let dir: string

  beforeAll(async () => {
    redis = await ownRedis()
    proxy = await slowProxy(redis.port, 0)
    dir = await mkdtemp(join(tmpdir(), 'qrelay-faults-slow-'))
    const config = parseConfig({
      ...ENV,
      QRELAY_PORT: '0',
      QRELAY_DATA_DIR: dir,
      QRELAY_STORE: 'redis',
      QRELAY_REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      QRELAY_REDIS_KEY_PREFIX: 'slow:',
      QRELAY_PUBLIC_BASE_URL: PUBLIC,
      QRELAY_UIA_KEY: '34'.repeat(32),
      QRELAY_REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
    })
    server = await startNodeServer(config)
  }, 30_000)

  afterAll(async () => {
    proxy?.setDelay(0)
    await server?.stop()
    await proxy?.close()
    await redis?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('completes a QR login over a Redis 200 ms away, gives up with 503 past the command timeout, and recovers', async () => {
    const send: Send = viaFetch(server.url)
    expect((await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const { final } = await withUia(send, 'POST', '/v1/login', { username: 'alice', initial_device_display_name: 'Phone' }, PASSWORD)
    const phone = final.body.access_token as string

    // 200 ms each way on every chunk: slow, but every step succeeds within the bound.
    proxy.setDelay(200)
    const holder = await dpopHolder()
    const grant = await timed(() => requestGrant(send, holder, Date.now(), { channel_binding: BINDING, device_name: 'Laptop' }))
    expect(grant.value.status).toBe(200)
    const codes = grant.value.codes
    const approved = await timed(() =>
      decide(send, phone, codes.user_code, { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt }),
    )
    expect(approved.value.body).toMatchObject({ status: 'approved' })
    await sleep(1100)
    const redeemed = await timed(async () =>
      pollToken(send, holder, Date.now(), codes.device_code, { proof: await holder.prove('POST', `${PUBLIC}/oauth2/token`, Date.now()) }),
    )
    expect(redeemed.value.status, JSON.stringify(redeemed.value.body)).toBe(200)
    const slow = [grant.ms, approved.ms, redeemed.ms]
    for (const ms of slow) expect(ms).toBeLessThan(SLOW_REQUEST_BOUND_MS)

    // Slower than the command timeout: a bounded 503 with Retry-After, not a hang.
    proxy.setDelay(1200)
    const stuck = await timed(async () => {
      const res = await fetch(`${server.url}/v1/devices`, { headers: { authorization: `Bearer ${phone}` } })
      await res.arrayBuffer()
      return res
    })
    expect(stuck.value.status).toBe(503)
    expect(Number(stuck.value.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(stuck.ms).toBeLessThan(GIVE_UP_BOUND_MS)

    // Fast again: the same process answers normally once the late replies have drained.
    proxy.setDelay(0)
    let status = 0
    for (let i = 0; i < 20 && status !== 200; i++) {
      await sleep(250)
      status = (await call(send, 'GET', '/v1/devices', undefined, phone)).status
    }
    expect(status).toBe(200)
    const devices = await call(send, 'GET', '/v1/devices', undefined, phone)
    expect(devices.body.devices).toHaveLength(2)
    console.info(
      `faults/slow-redis: 200 ms each way: grant ${grant.ms | 0} ms, approve ${approved.ms | 0} ms, redeem ${redeemed.ms | 0} ms; 1200 ms: 503 after ${stuck.ms | 0} ms`,
    )
  }, 60_000)
})
