/**
 * Findings 17 and 24 across two processes sharing Redis: failed user-code look-ups of one address
 * count together wherever they land, and a DPoP nonce handed out by one process is accepted by the
 * other (stateless nonces keyed from the shared QRELAY_UIA_KEY).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.ts'
import { startNodeServer, type RunningServer } from '../../src/runtime/node-server.ts'
import { call, viaFetch, withUia } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { E2E_ENV, PASSWORD } from '../integration/approval/e2e-harness.ts'
import { ADMIN_TOKEN } from '../integration/accounts/flow-suite.ts'

const url = redisUrl()
const PUBLIC = 'https://qrelay.test'
const BINDING = 'D'.repeat(43)
/** Every request comes from 127.0.0.1: no proxy header. */
const { QRELAY_TRUSTED_PROXY_HEADER: _proxy, ...ENV } = E2E_ENV

const formPost = (fields: Record<string, string>, dpop?: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...(dpop === undefined ? {} : { dpop }) },
  body: new URLSearchParams(fields).toString(),
})

describe.skipIf(url === null)('findings 17 and 24 across two processes sharing Redis', () => {
  const servers: RunningServer[] = []
  const dirs: string[] = []
  let token: string

  beforeAll(async () => {
    const prefix = uniquePrefix('oauth')
    for (let i = 0; i < 2; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'qrelay-oauth-redis-'))
      dirs.push(dir)
      const config = parseConfig({
        ...ENV,
        QRELAY_PORT: '0',
        QRELAY_DATA_DIR: dir,
        QRELAY_STORE: 'redis',
        QRELAY_REDIS_URL: url as string,
        QRELAY_REDIS_KEY_PREFIX: prefix,
        QRELAY_PUBLIC_BASE_URL: PUBLIC,
        QRELAY_UIA_KEY: '44'.repeat(32),
        QRELAY_DPOP_NONCE: 'true',
        QRELAY_RATE_USER_CODE_PER_CLIENT: '4/300s',
      })
      servers.push(await startNodeServer(config))
    }
    const send = viaFetch(servers[0]!.url)
    expect((await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const { final } = await withUia(send, 'POST', '/v1/login', { username: 'alice', initial_device_display_name: 'Phone' }, PASSWORD)
    token = final.body.access_token as string
  }, 60_000)

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  })

  it('finding 24: a nonce handed out by process A redeems the grant at process B', async () => {
    const [a, b] = servers as [RunningServer, RunningServer]
    const holder = await dpopHolder()
    const started = await fetch(`${a.url}/oauth2/device_authorization`, formPost({ channel_binding: BINDING, dpop_jkt: holder.jkt }))
    expect(started.status).toBe(200)
    const codes = (await started.json()) as { device_code: string; user_code: string }
    const approved = await call(
      viaFetch(b.url),
      'POST',
      `/v1/approvals/${codes.user_code}`,
      { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt },
      token,
    )
    expect(approved.body).toMatchObject({ status: 'approved' })
    const poll = { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: codes.device_code }
    const htu = `${PUBLIC}/oauth2/token`
    const refused = await fetch(`${a.url}/oauth2/token`, formPost(poll, await holder.prove('POST', htu, Date.now())))
    expect(await refused.json()).toMatchObject({ error: 'use_dpop_nonce' })
    const nonce = refused.headers.get('dpop-nonce')!
    const redeemed = await fetch(`${b.url}/oauth2/token`, formPost(poll, await holder.prove('POST', htu, Date.now(), { nonce })))
    expect(redeemed.status).toBe(200)
    expect(await redeemed.json()).toMatchObject({ token_type: 'DPoP' })
  })

  it('finding 17: failed look-ups of one address count together across processes', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      const send = viaFetch(servers[i % 2]!.url)
      statuses.push((await call(send, 'GET', '/v1/approvals/BCDFG-HJKLM', undefined, token)).status)
    }
    expect(statuses).toEqual([404, 404, 404, 404, 429, 429])
  })
})
