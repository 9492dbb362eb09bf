/**
 * QR login end to end through the device SDK across two qrelay processes sharing one test Redis
 * (ephemeral and durable stores both on Redis): the new device talks to process A, the existing
 * device to process B, in both intents; the minted DPoP-bound token works on both processes. Also a
 * decline, a step-up and a check-code mismatch across the two processes.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientError } from '../../../src/client/errors.ts'
import { redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { spawnServer, type SpawnedServer } from '../../helpers/spawn-server.ts'
import { otherCode, type Intent, type TransportName } from '../client/harness.ts'
import {
  E2E_ENV,
  ELSEWHERE,
  HOME,
  HOME_TOO,
  createUser,
  passwordLogin,
  passwordStepUp,
  qrLogin,
  whoami,
  type DeviceAt,
} from './e2e-harness.ts'

const url = redisUrl()
// The public base URL both processes stand behind (a load balancer in production).
const PUBLIC_BASE_URL = 'https://qrelay.test'

describe.skipIf(url === null)('QR login end to end across two processes sharing Redis', () => {
  let first: SpawnedServer
  let second: SpawnedServer
  let tv: DeviceAt
  let phone: DeviceAt
  const dataDirs: string[] = []

  beforeAll(async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const jwks = JSON.stringify({ keys: [await exportJWK(privateKey)] })
    const prefix = uniquePrefix('e2e')
    const env = async (): Promise<Record<string, string>> => {
      const dir = await mkdtemp(join(tmpdir(), 'qrelay-e2e-redis-'))
      dataDirs.push(dir)
      return {
        ...E2E_ENV,
        // spawnServer waits for the `listening` log line.
        QRELAY_LOG_LEVEL: 'info',
        QRELAY_STORE: 'redis',
        QRELAY_REDIS_URL: url as string,
        QRELAY_REDIS_KEY_PREFIX: prefix,
        QRELAY_TICKET_SIGNING_JWKS: jwks,
        QRELAY_PUBLIC_BASE_URL: PUBLIC_BASE_URL,
        QRELAY_LOG_HASH_KEY: '22'.repeat(32),
        QRELAY_UIA_KEY: '33'.repeat(32),
        QRELAY_DATA_DIR: dir,
      }
    }
    ;[first, second] = await Promise.all([spawnServer(await env()), spawnServer(await env())])
    tv = { baseUrl: first.url, peer: HOME_TOO }
    phone = { baseUrl: second.url, peer: HOME }
    await createUser(phone, 'alice')
  }, 60_000)

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()])
    await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })))
  })

  const cases: Array<[Intent, TransportName, TransportName]> = [
    ['new shows', 'http', 'ws'],
    ['new shows', 'ws', 'http'],
    ['existing shows', 'http', 'http'],
    ['existing shows', 'ws', 'ws'],
  ]

  it.each(cases)(
    'signs in when the %s the QR, new device on %s at A, existing device on %s at B',
    async (intent, newTransport, existingTransport) => {
      const token = await passwordLogin(phone, 'alice')
      const outcome = await qrLogin({
        intent,
        newAt: tv,
        existingAt: phone,
        newTransport,
        existingTransport,
        accessToken: token,
        publicBaseUrl: PUBLIC_BASE_URL,
      })
      expect(outcome.approval).toMatchObject({ status: 'approved' })
      const session = outcome.session
      if (session instanceof Error) throw session
      expect(outcome.contexts[0]).toMatchObject({ action: 'sign_in_another_device', requested_device_name: 'Kitchen TV' })
      // The token works on both processes (the proof names the public URL).
      expect(await whoami(session)).toMatchObject({ status: 200, body: { user_id: 'alice', device_id: session.deviceId } })
      expect(await whoami(session, { baseUrl: second.url, publicBaseUrl: PUBLIC_BASE_URL })).toMatchObject({
        status: 200,
        body: { device_id: session.deviceId },
      })
      await session.refresh()
      expect((await whoami(session, { baseUrl: second.url, publicBaseUrl: PUBLIC_BASE_URL })).status).toBe(200)
    },
  )

  it.each<Intent>(['new shows', 'existing shows'])('stops the new device at A when the person at B declines (%s)', async (intent) => {
    const token = await passwordLogin(phone, 'alice')
    const outcome = await qrLogin({
      intent,
      newAt: tv,
      existingAt: phone,
      accessToken: token,
      publicBaseUrl: PUBLIC_BASE_URL,
      confirm: () => false,
    })
    expect(outcome.approval).toMatchObject({ status: 'declined' })
    expect(outcome.session).toBeInstanceOf(ClientError)
    expect((outcome.session as ClientError).code).toBe('ACCESS_DENIED')
  })

  it.each<Intent>(['new shows', 'existing shows'])(
    'steps up with the password at B when the new device is on another network (%s)',
    async (intent) => {
      const token = await passwordLogin(phone, 'alice')
      const outcome = await qrLogin({
        intent,
        newAt: { baseUrl: first.url, peer: ELSEWHERE },
        existingAt: phone,
        accessToken: token,
        publicBaseUrl: PUBLIC_BASE_URL,
        stepUp: passwordStepUp('alice'),
      })
      expect(outcome.challenges[0]?.flows).toEqual([{ stages: ['m.login.password'] }])
      expect(outcome.approval).toMatchObject({ status: 'approved' })
      if (outcome.session instanceof Error) throw outcome.session
      expect((await whoami(outcome.session, { baseUrl: second.url, publicBaseUrl: PUBLIC_BASE_URL })).status).toBe(200)
    },
  )

  it('burns the channel on a check-code mismatch across processes', async () => {
    const token = await passwordLogin(phone, 'alice')
    const outcome = await qrLogin({
      intent: 'new shows',
      newAt: tv,
      existingAt: phone,
      newTransport: 'http',
      existingTransport: 'ws',
      accessToken: token,
      publicBaseUrl: PUBLIC_BASE_URL,
      typedCode: otherCode,
    })
    expect(outcome.session).toMatchObject({ code: 'CHECK_CODE_MISMATCH' })
    // The abort reaches the other process; depending on timing the scanner hears the reason or finds the channel gone.
    const heard = outcome.approval as ClientError
    expect(heard).toBeInstanceOf(ClientError)
    expect(['ABORTED', 'CHANNEL_GONE']).toContain(heard.code)
    if (heard.code === 'ABORTED') expect(heard.abortReason).toBe('check_code_mismatch')
    expect(outcome.contexts).toEqual([])
  })
})
