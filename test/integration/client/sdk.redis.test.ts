/**
 * The device SDK across two qrelay processes sharing Redis: G talks to one process, S to the other,
 * both with the same ticket signing keys, so the ticket G's process signed verifies against the JWKS
 * of S's process. Both intents, HTTP, WebSocket and mixed transports, and an abort heard across
 * processes (pub/sub).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { spawnServer, type SpawnedServer } from '../../helpers/spawn-server.ts'
import WebSocket from 'ws'
import { ExistingDevice, NewDevice } from '../../../src/client/devices.ts'
import { webSocketTransport } from '../../../src/client/ws-transport.ts'
import { connectorOf, exchange, otherCode, pairDevices, TEST_RATES, type Intent, type TransportName } from './harness.ts'

const url = redisUrl()
// The public base URL both processes stand behind (a load balancer in production).
const PUBLIC_BASE_URL = 'https://qrelay.test'

describe.skipIf(url === null)('device SDK across two processes sharing Redis', () => {
  let first: SpawnedServer
  let second: SpawnedServer
  const dataDirs: string[] = []

  beforeAll(async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const jwks = JSON.stringify({ keys: [await exportJWK(privateKey)] })
    const prefix = uniquePrefix('sdk')
    const env = async (): Promise<Record<string, string>> => {
      const dir = await mkdtemp(join(tmpdir(), 'qrelay-sdk-redis-'))
      dataDirs.push(dir)
      return {
        ...TEST_RATES,
        QRELAY_STORE: 'redis',
        QRELAY_REDIS_URL: url as string,
        QRELAY_REDIS_KEY_PREFIX: prefix,
        QRELAY_TICKET_SIGNING_JWKS: jwks,
        QRELAY_PUBLIC_BASE_URL: PUBLIC_BASE_URL,
        QRELAY_LOG_HASH_KEY: '11'.repeat(32),
        QRELAY_DATA_DIR: dir,
      }
    }
    ;[first, second] = await Promise.all([spawnServer(await env()), spawnServer(await env())])
  })

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()])
    await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })))
  })

  const cases: Array<[Intent, TransportName, TransportName]> = [
    ['new shows', 'http', 'http'],
    ['new shows', 'ws', 'ws'],
    ['existing shows', 'ws', 'http'],
    ['existing shows', 'http', 'ws'],
  ]

  it.each(cases)(
    'logs in when the %s the QR, G on %s at one process and S on %s at the other',
    async (intent, showerTransport, scannerTransport) => {
      const { shown, scan } = await pairDevices({
        intent,
        showerTransport,
        scannerTransport,
        baseUrl: first.url,
        scannerBaseUrl: second.url,
        publicBaseUrl: PUBLIC_BASE_URL,
      })
      expect(shown.qrLink.startsWith(`${PUBLIC_BASE_URL}/${intent === 'new shows' ? 'approve' : 'link'}#v1.`)).toBe(true)
      expect(scan.ticket.issuer).toBe(PUBLIC_BASE_URL)
      await shown.confirmCheckCode(scan.checkCode)
      expect(shown.channelBinding).toBe(scan.channelBinding)
      const { atShower, atScanner } = await exchange({ shown, scan }, 3)
      expect(atShower.map((m) => (m as { n: number }).n)).toEqual([0, 1, 2])
      expect(atScanner.map((m) => (m as { n: number }).n)).toEqual([0, 1, 2])
      await shown.close()
      await expect(scan.send({ after: 'close' })).rejects.toMatchObject({ code: 'CHANNEL_GONE' })
    },
  )

  it('tells the scanner on the other process that a wrong check code aborted the channel', async () => {
    // The scanner's socket, watched: the abort reaches the other process over pub/sub and closes it.
    let socketClosed: Promise<void> | undefined
    class WatchedWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args)
        // Added before the transport's own listener, which has run once this resolves (one emit).
        socketClosed = new Promise((resolve) => this.once('close', () => resolve()))
      }
    }
    const shown = await NewDevice.showQr({
      baseUrl: first.url,
      transport: connectorOf('http', first.url),
      publicBaseUrl: PUBLIC_BASE_URL,
    })
    const scan = await ExistingDevice.scanQr(shown.qrLink, {
      baseUrl: second.url,
      transport: webSocketTransport({ baseUrl: second.url, WebSocket: WatchedWebSocket, pingIntervalMs: 5000 }),
      publicBaseUrl: PUBLIC_BASE_URL,
    })
    await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scan.connect({ timeoutMs: 10_000 })])
    await expect(shown.confirmCheckCode(otherCode(scan.checkCode))).rejects.toMatchObject({ code: 'CHECK_CODE_MISMATCH' })
    // A send that beats the abort finds the channel already gone (CHANNEL_GONE, also a refusal); this
    // test is about the reason arriving, so it waits for the relay to close the scanner's socket (bounded).
    expect(socketClosed).toBeDefined()
    await Promise.race([
      socketClosed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the abort never closed the socket')), 10_000).unref()),
    ])
    await expect(scan.send({ type: 'm.login.protocols' })).rejects.toMatchObject({ code: 'ABORTED', abortReason: 'check_code_mismatch' })
  })
})
