/**
 * Fault: qrelay on Redis behind Sentinel (primary, replica, one sentinel: test/helpers/redis-sentinel.ts),
 * and the primary is SIGKILLed by PID in the middle of a QR login, after the approval and before the new
 * device redeemed its grant. While the sentinel fails over, store-bound requests answer 503 with
 * Retry-After within about a second; then the same process (no restart) follows the sentinel to the
 * promoted replica, finishes the login and mints exactly one device. The approval was replicated
 * before the kill (WAIT): what asynchronous replication can lose otherwise is in SECURITY.md.
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
import { askNode, hasRedisServer } from '../helpers/redis-cluster.ts'
import { startSentinelSetup, type SentinelSetup } from '../helpers/redis-sentinel.ts'
import { E2E_ENV, PASSWORD } from '../integration/approval/e2e-harness.ts'
import { ADMIN_TOKEN } from '../integration/accounts/flow-suite.ts'

const PUBLIC = 'https://relay.example'
const BINDING = 'S'.repeat(43)
const { QRELAY_TRUSTED_PROXY_HEADER: _proxy, ...ENV } = E2E_ENV
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** How long a request may take to answer 503 while no primary answers: the command timeout plus slack. */
const UNAVAILABLE_WITHIN_MS = 2500

const passwordLogin = async (send: Send, name: string): Promise<Record<string, any>> => {
  const { final } = await withUia(send, 'POST', '/v1/login', { username: 'alice', initial_device_display_name: name }, PASSWORD)
  expect(final.status, JSON.stringify(final.body)).toBe(200)
  return final.body
}

describe.skipIf(!hasRedisServer())('faults: the Sentinel primary killed mid QR login', () => {
  let sentinel: SentinelSetup
  let server: RunningServer
  let dir: string

  beforeAll(async () => {
    sentinel = await startSentinelSetup()
    dir = await mkdtemp(join(tmpdir(), 'qrelay-sentinel-faults-'))
    const config = parseConfig({
      ...ENV,
      QRELAY_PORT: '0',
      QRELAY_DATA_DIR: dir,
      QRELAY_STORE: 'redis',
      QRELAY_REDIS_URL: sentinel.url,
      QRELAY_REDIS_KEY_PREFIX: 'sentinel:',
      QRELAY_PUBLIC_BASE_URL: PUBLIC,
      QRELAY_UIA_KEY: '44'.repeat(32),
    })
    server = await startNodeServer(config)
  }, 60_000)

  afterAll(async () => {
    await server?.stop()
    await sentinel?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('answers 503 during the failover, then finishes the login on the promoted replica, minting once', async () => {
    const send = viaFetch(server.url)
    expect((await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const phone = await passwordLogin(send, 'Phone')
    const gone = await passwordLogin(send, 'Old laptop')
    expect((await call(send, 'POST', '/v1/logout', {}, gone.access_token)).status).toBe(200)

    const holder = await dpopHolder()
    const grant = await requestGrant(send, holder, Date.now(), { channel_binding: BINDING, device_name: 'New laptop' })
    expect(grant.status, JSON.stringify(grant.body)).toBe(200)
    const approved = await decide(send, phone.access_token, grant.codes.user_code, {
      decision: 'approve',
      channel_binding: BINDING,
      dpop_jkt: holder.jkt,
    })
    expect(approved.body).toMatchObject({ status: 'approved' })
    // Everything so far reached the replica (asynchronous replication would otherwise lose the last writes).
    expect(await askNode(sentinel.primaryPort, 'WAIT', '1', '2000')).toBe('1')

    await sentinel.killPrimary()
    const started = performance.now()
    const first = await pollToken(send, holder, Date.now(), grant.codes.device_code)
    const firstMs = performance.now() - started
    expect(first.status).toBe(503)
    expect(firstMs).toBeLessThan(UNAVAILABLE_WITHIN_MS)

    await sentinel.promoted()
    let redeemed: Answer | undefined
    const statuses: number[] = [first.status]
    for (let i = 0; i < 25 && redeemed === undefined; i++) {
      await sleep(1100) // the grant's poll interval
      const poll = await pollToken(send, holder, Date.now(), grant.codes.device_code)
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
    expect(again.body.access_token).toBe(token)
    const devices = await call(send, 'GET', '/v1/devices', undefined, phone.access_token)
    const names = (devices.body.devices as Array<{ display_name?: string }>).map((d) => d.display_name).sort()
    expect(names).toEqual(['New laptop', 'Phone'])
    // Nothing lost, nothing resurrected; the replica now answers as the primary.
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, gone.access_token)).body.errcode).toBe('M_UNKNOWN_TOKEN')
    expect((await call(send, 'GET', '/readyz')).status).toBe(200)
    expect(await askNode(sentinel.replicaPort, 'ROLE')).toMatch(/^master/)
    console.info(`faults/sentinel-failover: first poll ${first.status} in ${firstMs | 0} ms; polls: ${statuses.join(',')}`)
  }, 90_000)
})
