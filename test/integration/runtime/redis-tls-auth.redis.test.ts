/**
 * QRELAY_REDIS_URL with TLS and credentials, against live servers this file starts (on free loopback
 * ports, stopped by PID): `rediss://` to a TLS-only redis-server whose certificate a throwaway CA signed
 * (given with QRELAY_REDIS_TLS_CA_FILE), `requirepass`, and an ACL user with the default user off. Each
 * carries an MSC4388 round trip through a qrelay process; a wrong CA or a wrong password is refused with a
 * clear line, the password in no line, and /readyz never answers 200 while Redis is out of reach.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configProblems } from '../../../src/runtime/cli/config.ts'
import { jsonInit, V4388 } from '../../helpers/rendezvous-requests.ts'
import { hasRedisServer } from '../../helpers/redis-cluster.ts'
import { makeTestPki, redisHasTls, removePki, startSecuredRedis, type SecuredRedis, type TestPki } from '../../helpers/redis-secured.ts'
import { ServerStartError, spawnServer, type SpawnedServer } from '../../helpers/spawn-server.ts'

const PASSWORD = 'pw-Zq81xT0pLm3'
const ACL = { name: 'qrelay', password: 'acl-Vh72kKq9Rr1' }
const WRONG = 'wrong-Yb55nNs8Jd4'
const ENV = { QRELAY_STORE: 'redis', QRELAY_LOG_LEVEL: 'info', QRELAY_REDIS_COMMAND_TIMEOUT_MS: '500' }

/** An MSC4388 create, read and write through `server`: the store answered each step. */
const roundTrip = async (server: SpawnedServer): Promise<void> => {
  const created = await fetch(`${server.url}${V4388}`, jsonInit('POST', { data: 'offer' }))
  expect(created.status).toBe(200)
  const { id, sequence_token: t0 } = (await created.json()) as { id: string; sequence_token: string }
  const written = await fetch(`${server.url}${V4388}/${id}`, jsonInit('PUT', { sequence_token: t0, data: 'answer' }))
  expect(written.status).toBe(200)
  expect(await (await fetch(`${server.url}${V4388}/${id}`)).json()).toMatchObject({ data: 'answer' })
  expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
}

/**
 * Starts qrelay on a Redis it cannot use: either it refuses to start, or it serves with /readyz failing
 * and channel requests answering 503. Resolves with every line it wrote.
 */
const refusedLines = async (env: Record<string, string>): Promise<string[]> => {
  let server: SpawnedServer
  try {
    server = await spawnServer({ ...ENV, ...env }, { startTimeoutMs: 20_000 })
  } catch (error) {
    expect(error).toBeInstanceOf(ServerStartError)
    const { exit, stdout, stderr } = error as ServerStartError
    expect(exit?.code).not.toBe(0)
    return [...stdout, ...stderr]
  }
  try {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503)
    expect((await fetch(`${server.url}${V4388}`, jsonInit('POST', { data: 'x' }))).status).toBe(503)
    return server.logs()
  } finally {
    await server.stop()
  }
}

/** The code of Node's TLS error on a certificate no configured CA signed (the log keeps codes, never messages). */
const CERT_REFUSED = /"code":"(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT)"/

const joined = (lines: string[]): string => lines.join('\n')

describe.skipIf(!hasRedisServer())('Redis with TLS and credentials', () => {
  let pki: TestPki | undefined
  let tls: SecuredRedis | undefined
  let pass: SecuredRedis
  let acl: SecuredRedis

  beforeAll(async () => {
    ;[pass, acl] = await Promise.all([startSecuredRedis({ requirepass: PASSWORD }), startSecuredRedis({ aclUser: ACL })])
    if (redisHasTls()) {
      pki = makeTestPki()
      tls = await startSecuredRedis({ tls: pki })
    }
  }, 60_000)

  afterAll(async () => {
    await Promise.all([tls?.stop(), pass?.stop(), acl?.stop()])
    if (pki !== undefined) removePki(pki)
  })

  describe('TLS (rediss://)', () => {
    it.skipIf(!redisHasTls())('relays through a server whose certificate the CA of QRELAY_REDIS_TLS_CA_FILE signed', async () => {
      const server = await spawnServer({
        ...ENV,
        QRELAY_REDIS_URL: `rediss://127.0.0.1:${tls!.port}`,
        QRELAY_REDIS_TLS_CA_FILE: pki!.caFile,
        QRELAY_REDIS_KEY_PREFIX: 'tls:',
      })
      try {
        await roundTrip(server)
      } finally {
        await server.stop()
      }
      // The channel is in that server, under the prefix.
      const admin = tls!.admin()
      try {
        expect((await admin.keys('tls:*')).length).toBeGreaterThan(0)
      } finally {
        admin.disconnect()
      }
    })

    it.skipIf(!redisHasTls())('refuses a certificate another CA signed, saying so', async () => {
      const lines = await refusedLines({ QRELAY_REDIS_URL: `rediss://127.0.0.1:${tls!.port}`, QRELAY_REDIS_TLS_CA_FILE: pki!.otherCaFile })
      expect(joined(lines)).toMatch(CERT_REFUSED)
    })

    it.skipIf(!redisHasTls())('refuses the certificate of a private CA without the CA file (Node CA store only)', async () => {
      const lines = await refusedLines({ QRELAY_REDIS_URL: `rediss://127.0.0.1:${tls!.port}` })
      expect(joined(lines)).toMatch(CERT_REFUSED)
    })

    it('refuses to start on a CA file it cannot read, naming the setting', async () => {
      const lines = await refusedLines({ QRELAY_REDIS_URL: 'rediss://127.0.0.1:1', QRELAY_REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' })
      expect(joined(lines)).toContain('QRELAY_REDIS_TLS_CA_FILE')
    })
  })

  describe('credentials', () => {
    it('relays with requirepass (the password alone in the URL)', async () => {
      const server = await spawnServer({ ...ENV, QRELAY_REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${pass.port}` })
      try {
        await roundTrip(server)
        expect(joined(server.logs())).not.toContain(PASSWORD)
      } finally {
        await server.stop()
      }
    })

    it('relays as an ACL user (user and password in the URL)', async () => {
      const server = await spawnServer({ ...ENV, QRELAY_REDIS_URL: `redis://${ACL.name}:${ACL.password}@127.0.0.1:${acl.port}` })
      try {
        await roundTrip(server)
        expect(joined(server.logs())).not.toContain(ACL.password)
      } finally {
        await server.stop()
      }
    })

    it('refuses a wrong requirepass password clearly, without the password in any line', async () => {
      const lines = await refusedLines({ QRELAY_REDIS_URL: `redis://:${WRONG}@127.0.0.1:${pass.port}` })
      expect(joined(lines)).toContain('"code":"WRONGPASS"')
      expect(joined(lines)).not.toContain(WRONG)
    })

    it('refuses a wrong ACL password and a missing one clearly, without the password in any line', async () => {
      const wrong = await refusedLines({ QRELAY_REDIS_URL: `redis://${ACL.name}:${WRONG}@127.0.0.1:${acl.port}` })
      expect(joined(wrong)).toContain('"code":"WRONGPASS"')
      expect(joined(wrong)).not.toContain(WRONG)
      const none = await refusedLines({ QRELAY_REDIS_URL: `redis://127.0.0.1:${acl.port}` })
      expect(joined(none)).toMatch(/"code":"(NOAUTH|WRONGPASS)"/)
    })
  })
})

describe('config check of the TLS CA knob', () => {
  it('asks for a TLS URL when a CA file is given, and accepts every rediss form', () => {
    const base = { QRELAY_STORE: 'redis', QRELAY_REDIS_TLS_CA_FILE: '/etc/qrelay/redis-ca.pem' }
    expect(configProblems({ ...base, QRELAY_REDIS_URL: 'redis://10.0.0.5:6379' })).toEqual([
      'QRELAY_REDIS_TLS_CA_FILE needs a TLS QRELAY_REDIS_URL (rediss://, rediss+sentinel:// or rediss+cluster://)',
    ])
    for (const url of ['rediss://10.0.0.5', 'rediss+sentinel://10.0.0.11,10.0.0.12/qrelay', 'rediss+cluster://10.0.1.1:6379']) {
      expect(configProblems({ ...base, QRELAY_REDIS_URL: url })).toEqual([])
    }
  })
})
