/**
 * Fault: two qrelay processes on one Redis; the new device of a QR login talks to process A, which is
 * killed with SIGKILL while the device's token poll is in flight. The device switches to process B
 * and finishes the login there: exactly one device is minted, and B never needed A.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, viaFetch, withUia, type Answer } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { spawnServer, type SpawnedServer } from '../helpers/spawn-server.ts'
import { E2E_ENV, PASSWORD } from '../integration/approval/e2e-harness.ts'
import { ADMIN_TOKEN } from '../integration/accounts/flow-suite.ts'

const url = redisUrl()
const PUBLIC = 'https://relay.example'
const BINDING = 'K'.repeat(43)
const { QRELAY_TRUSTED_PROXY_HEADER: _proxy, QRELAY_LOG_LEVEL: _level, ...ENV } = E2E_ENV
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(url === null)('faults: a process killed with SIGKILL mid-request, two processes on one Redis', () => {
  let a: SpawnedServer
  let b: SpawnedServer
  const dirs: string[] = []

  beforeAll(async () => {
    const prefix = uniquePrefix('faults-sigkill')
    const start = async () => {
      const dir = await mkdtemp(join(tmpdir(), 'qrelay-faults-kill-'))
      dirs.push(dir)
      return spawnServer({
        ...ENV,
        QRELAY_DATA_DIR: dir,
        QRELAY_STORE: 'redis',
        QRELAY_REDIS_URL: url as string,
        QRELAY_REDIS_KEY_PREFIX: prefix,
        QRELAY_PUBLIC_BASE_URL: PUBLIC,
        QRELAY_UIA_KEY: '55'.repeat(32),
        QRELAY_LOG_HASH_KEY: '66'.repeat(32),
      })
    }
    ;[a, b] = await Promise.all([start(), start()])
  }, 40_000)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  })

  it('the new device finishes the login on process B after A dies mid-poll; one device minted', async () => {
    const atA = viaFetch(a.url)
    const atB = viaFetch(b.url)
    expect((await call(atB, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const { final } = await withUia(atB, 'POST', '/v1/login', { username: 'alice', initial_device_display_name: 'Phone' }, PASSWORD)
    const phone = final.body.access_token as string

    const holder = await dpopHolder()
    const grant = await requestGrant(atA, holder, Date.now(), { channel_binding: BINDING, device_name: 'Laptop' })
    expect(grant.status, JSON.stringify(grant.body)).toBe(200)

    // The device's poll is in flight at A when A is killed.
    await sleep(1100)
    const inFlight = pollToken(atA, holder, Date.now(), grant.codes.device_code).then(
      (answer) => ({ answered: answer }),
      (error: unknown) => ({ failed: String(error) }),
    )
    await sleep(2)
    process.kill(a.pid, 'SIGKILL')
    const outcome = await inFlight
    const exit = await a.stop()
    expect(exit.signal).toBe('SIGKILL')

    // The existing device approves (at B), the new device polls B, as a client does after a network error.
    const approved = await decide(atB, phone, grant.codes.user_code, {
      decision: 'approve',
      channel_binding: BINDING,
      dpop_jkt: holder.jkt,
    })
    expect(approved.body).toMatchObject({ status: 'approved' })
    let redeemed: Answer | undefined
    for (let i = 0; i < 10 && redeemed === undefined; i++) {
      await sleep(1100)
      const poll = await pollToken(atB, holder, Date.now(), grant.codes.device_code)
      if (poll.status === 200) redeemed = poll
      else expect(poll.body.error).toMatch(/^(authorization_pending|slow_down)$/)
    }
    expect(redeemed).toBeDefined()
    const token = redeemed!.body.access_token as string
    expect((await callWithDpop(atB, holder, Date.now(), 'GET', '/v1/account/whoami', token)).status).toBe(200)

    // Polled again within the retry grace, the device code gets the same tokens: nothing minted twice.
    await sleep(1100)
    expect((await pollToken(atB, holder, Date.now(), grant.codes.device_code)).body.access_token).toBe(token)
    const devices = await call(atB, 'GET', '/v1/devices', undefined, phone)
    expect((devices.body.devices as Array<{ display_name?: string }>).map((d) => d.display_name).sort()).toEqual(['Laptop', 'Phone'])
    console.info(
      `faults/sigkill: the in-flight poll at A ended with ${JSON.stringify('answered' in outcome ? outcome.answered.status : outcome.failed)}`,
    )
  }, 60_000)
})
