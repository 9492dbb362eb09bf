/**
 * `preferWebSocket`: both devices on the WebSocket where the relay serves it; where it does not (WebSockets
 * off, or a proxy that refuses the upgrade), the same channel over HTTP polling, with nothing lost: the
 * creator keeps the channel it created, the scanner claims it, the handshake and messages go through.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { afterAll, describe, expect, it } from 'vitest'
import { preferWebSocket } from '../../../src/client/auto-transport.ts'
import { ExistingDevice, NewDevice } from '../../../src/client/devices.ts'
import { parseConfig } from '../../../src/config.ts'
import { startNodeServer, type RunningServer } from '../../../src/runtime/node-server.ts'
import { exchange, TEST_RATES } from './harness.ts'

const started: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const stop of started.splice(0)) await stop()
})

const serverWith = async (env: Record<string, string>): Promise<RunningServer> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qrelay-prefer-ws-'))
  const server = await startNodeServer(
    parseConfig({ QRELAY_PORT: '0', QRELAY_LOG_LEVEL: 'silent', QRELAY_DATA_DIR: dataDir, ...TEST_RATES, ...env }),
  )
  started.push(async () => {
    await server.stop()
    await rm(dataDir, { recursive: true, force: true })
  })
  return server
}

/** A reverse proxy in front of `target` that passes HTTP requests and refuses every upgrade (as some do). */
const proxyRefusingUpgrades = async (target: string): Promise<string> => {
  const upstream = new URL(target)
  const proxy = createServer((req, res) => {
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    forward.on('error', () => res.destroy())
    req.pipe(forward)
  })
  proxy.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'))
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  started.push(() => new Promise((resolve) => proxy.close(() => resolve())))
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
}

/** A whole pairing and two rounds of messages through `baseUrl`; the transports' kinds. */
const loginThrough = async (baseUrl: string) => {
  const connector = () => preferWebSocket({ baseUrl, WebSocket, pollIntervalMs: 20, connectTimeoutMs: 3000 })
  const shown = await NewDevice.showQr({ baseUrl, transport: connector() })
  const scan = await ExistingDevice.scanQr(shown.qrLink, { baseUrl, transport: connector() })
  await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scan.connect({ timeoutMs: 10_000 })])
  expect(scan.checkCode).toMatch(/^\d{2}$/)
  await shown.confirmCheckCode(scan.checkCode)
  const { atShower, atScanner } = await exchange({ shown, scan }, 2)
  expect(atShower).toHaveLength(2)
  expect(atScanner).toHaveLength(2)
  const kinds = [shown.toJSON().transport, scan.toJSON().transport]
  await shown.close()
  return kinds
}

describe('preferWebSocket', () => {
  it('uses the WebSocket where the relay serves it', async () => {
    const server = await serverWith({})
    expect(await loginThrough(server.url)).toEqual(['websocket', 'websocket'])
  })

  it('goes on over HTTP polling, on the same channels, where the relay has WebSockets off', async () => {
    const server = await serverWith({ QRELAY_WS_ENABLED: 'false' })
    expect(await loginThrough(server.url)).toEqual(['http', 'http'])
  })

  it('goes on over HTTP polling behind a proxy that refuses the upgrade', async () => {
    const server = await serverWith({})
    expect(await loginThrough(await proxyRefusingUpgrades(server.url))).toEqual(['http', 'http'])
  })
})
