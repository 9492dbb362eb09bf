/**
 * Two qrelay processes on one Redis: a token poll held on process A (`Prefer: wait`) is woken by an
 * approval stored on process B through a Redis change notice, not at A's next re-read of the grant. The
 * notice is seen on Redis. Likewise a `GET /v1/events` held on B hears the sign-in appended on A. The lags
 * are printed, not asserted (no timing is asserted).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, viaFetch, withUia } from '../../helpers/account-client.ts'
import { dpopHolder } from '../../helpers/dpop.ts'
import { decide, pollToken, requestGrant } from '../../helpers/qr-login.ts'
import { redisClient, redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { spawnServer, type SpawnedServer } from '../../helpers/spawn-server.ts'
import { E2E_ENV, PASSWORD } from '../approval/e2e-harness.ts'
import { ADMIN_TOKEN } from '../accounts/flow-suite.ts'

const url = redisUrl()
const BINDING = 'W'.repeat(43)
const { QRELAY_TRUSTED_PROXY_HEADER: _proxy, QRELAY_LOG_LEVEL: _level, ...ENV } = E2E_ENV
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(url === null)('a held token poll woken by an approval on another process', () => {
  let a: SpawnedServer
  let b: SpawnedServer
  const dirs: string[] = []
  const prefix = uniquePrefix('grant-wake')

  beforeAll(async () => {
    const start = async () => {
      const dir = await mkdtemp(join(tmpdir(), 'qrelay-grant-wake-'))
      dirs.push(dir)
      return spawnServer({
        ...ENV,
        // A hold of up to 6 s: the poll is still held when the approval comes, on a loaded machine too.
        QRELAY_POLL_INTERVAL_SECONDS: '6',
        QRELAY_DATA_DIR: dir,
        QRELAY_STORE: 'redis',
        QRELAY_REDIS_URL: url as string,
        QRELAY_REDIS_KEY_PREFIX: prefix,
        QRELAY_PUBLIC_BASE_URL: 'https://relay.example',
        QRELAY_UIA_KEY: '77'.repeat(32),
        QRELAY_LOG_HASH_KEY: '88'.repeat(32),
      })
    }
    ;[a, b] = await Promise.all([start(), start()])
  }, 40_000)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  })

  it('answers tokens to the poll held on A when B stores the approval, and the feed read held on B when A signs the device in', async () => {
    const atA = viaFetch(a.url)
    const atB = viaFetch(b.url)
    expect((await call(atB, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const { final } = await withUia(atB, 'POST', '/v1/login', { username: 'alice', initial_device_display_name: 'Phone' }, PASSWORD)
    const phone = final.body.access_token as string

    const listener = redisClient()
    const heard: string[] = []
    const heardFeed: string[] = []
    try {
      listener.on('message', (channel: string, message: string) => (channel.endsWith(':feed') ? heardFeed : heard).push(message))
      await listener.subscribe(`${prefix}notice:grant`, `${prefix}notice:feed`)

      // The phone's feed, read on B and held there until the new device signs in on A.
      const before = await call(atB, 'GET', '/v1/events?timeout_ms=0', undefined, phone)
      const since = before.body.next_since as number
      let feedAt = 0
      const feed = call(atB, 'GET', `/v1/events?since=${since}&timeout_ms=20000`, undefined, phone).then((answer) => {
        feedAt = performance.now()
        return answer
      })

      const holder = await dpopHolder()
      const grant = await requestGrant(atA, holder, Date.now(), { channel_binding: BINDING, device_name: 'Laptop' })
      expect(grant.status, JSON.stringify(grant.body)).toBe(200)
      await sleep(6100)
      let answeredAt = 0
      const held = pollToken(atA, holder, Date.now(), grant.codes.device_code, { headers: { prefer: 'wait=6' } }).then((answer) => {
        answeredAt = performance.now()
        return answer
      })
      await sleep(300)
      const approved = await decide(atB, phone, grant.codes.user_code, {
        decision: 'approve',
        channel_binding: BINDING,
        dpop_jkt: holder.jkt,
      })
      const approvedAt = performance.now()
      expect(approved.body).toMatchObject({ status: 'approved' })
      const answer = await held
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      expect(answer.body.token_type).toBe('DPoP')
      const signedIn = await feed
      expect(signedIn.status).toBe(200)
      expect((signedIn.body.events as Array<{ type: string }>).map((e) => e.type)).toContain('device_signed_in')
      for (let i = 0; i < 250 && heard.length === 0; i++) await sleep(20)
      expect(heard.length).toBeGreaterThan(0)
      expect(heard.join(' ')).not.toContain(grant.codes.device_code)
      expect(heardFeed.length).toBeGreaterThan(0)
      console.info(
        `wake across processes: the token poll held on A answered ${(answeredAt - approvedAt).toFixed(0)} ms after B's approval answer; ` +
          `the feed read held on B ${(feedAt - answeredAt).toFixed(0)} ms after A's token answer`,
      )
    } finally {
      listener.disconnect()
    }
  }, 60_000)
})
