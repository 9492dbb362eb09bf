/**
 * Accounts on two qrelay processes sharing Redis: a password change with `logout_devices` on one
 * process signs the other devices out at once on the other process too (MSC2457).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, login, refresh, viaFetch, withUia } from '../../helpers/account-client.ts'
import { redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { spawnServer, type SpawnedServer } from '../../helpers/spawn-server.ts'
import { ADMIN_TOKEN } from '../accounts/flow-suite.ts'

const url = redisUrl()
const PASSWORD = 'correct horse battery staple'

describe.skipIf(url === null)('accounts on two processes sharing Redis', () => {
  let one: SpawnedServer
  let two: SpawnedServer

  beforeAll(async () => {
    const env = {
      QRELAY_STORE: 'redis',
      QRELAY_REDIS_URL: url as string,
      QRELAY_REDIS_KEY_PREFIX: uniquePrefix('accounts-2p'),
      QRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
      QRELAY_UIA_KEY: '11'.repeat(32),
      QRELAY_LOG_HASH_KEY: '22'.repeat(32),
      QRELAY_ARGON2_MEMORY_KIB: '64',
      QRELAY_ARGON2_ITERATIONS: '1',
    }
    ;[one, two] = await Promise.all([spawnServer(env), spawnServer(env)])
  })
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()])
  })

  it('revokes the other sessions on process 2 the moment process 1 changes the password', async () => {
    const p1 = viaFetch(one.url)
    const p2 = viaFetch(two.url)
    expect((await call(p1, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const a = await login(p1, 'alice', PASSWORD, undefined, 'A')
    const b = await login(p2, 'alice', PASSWORD, undefined, 'B')
    expect((await call(p2, 'GET', '/v1/account/whoami', undefined, a.access_token)).status).toBe(200)
    expect((await call(p1, 'GET', '/v1/account/whoami', undefined, b.access_token)).status).toBe(200)

    const changed = await withUia(
      p1,
      'POST',
      '/v1/account/password',
      { new_password: 'a brand new passphrase' },
      PASSWORD,
      undefined,
      a.access_token,
    )
    expect(changed.final.status).toBe(200)
    expect((await call(p2, 'GET', '/v1/account/whoami', undefined, b.access_token)).body.errcode).toBe('M_UNKNOWN_TOKEN')
    expect((await refresh(p2, b.refresh_token)).body.error).toBe('invalid_grant')
    expect((await call(p2, 'GET', '/v1/account/whoami', undefined, a.access_token)).status).toBe(200)
  })

  it('finishes a UIA session started on one process on the other', async () => {
    const p1 = viaFetch(one.url)
    const p2 = viaFetch(two.url)
    const start = await call(p1, 'POST', '/v1/login', { username: 'alice' })
    expect(start.status).toBe(401)
    const done = await call(p2, 'POST', '/v1/login', {
      username: 'alice',
      auth: { type: 'm.login.password', session: start.body.session, password: 'a brand new passphrase' },
    })
    expect(done.status, JSON.stringify(done.body)).toBe(200)
  })
})
