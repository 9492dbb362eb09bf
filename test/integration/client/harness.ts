/**
 * Shared pieces of the device SDK tests: a real server on port 0, the transports by name, and one
 * whole login (show, scan, handshake, check code) for either intent.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { ExistingDevice, NewDevice } from '../../../src/client/devices.ts'
import { httpTransport } from '../../../src/client/http-transport.ts'
import type { QrDisplay } from '../../../src/client/qr-display.ts'
import type { QrScan } from '../../../src/client/qr-scan.ts'
import type { TransportConnector } from '../../../src/client/transport.ts'
import { webSocketTransport } from '../../../src/client/ws-transport.ts'
import { parseConfig } from '../../../src/config.ts'
import { startNodeServer, type RunningServer } from '../../../src/runtime/node-server.ts'

/** Rates high enough for fast polling in tests. */
export const TEST_RATES = {
  QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s',
  QRELAY_RATE_WRITES_PER_CHANNEL: '1000/60s',
  QRELAY_RATE_READS_PER_CHANNEL: '100000/60s',
  QRELAY_RATE_REFUSED_PER_CLIENT: '1000/600s',
  // Every test client is 127.0.0.1 and many tests abort on purpose: the abuse guard has its own tests.
  QRELAY_ABUSE_ENABLED: 'false',
}

/** A server on port 0 with its own data directory; `stop()` removes both. */
export const startTestServer = async (): Promise<{ server: RunningServer; stop(): Promise<void> }> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qrelay-sdk-'))
  const server = await startNodeServer(
    parseConfig({ QRELAY_PORT: '0', QRELAY_LOG_LEVEL: 'silent', QRELAY_DATA_DIR: dataDir, ...TEST_RATES }),
  )
  return {
    server,
    async stop() {
      await server.stop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

export type TransportName = 'http' | 'ws'

/** A connector of `name` to the server at `baseUrl` (HTTP polls every 20 ms). */
export const connectorOf = (name: TransportName, baseUrl: string): TransportConnector =>
  name === 'http' ? httpTransport({ baseUrl, pollIntervalMs: 20 }) : webSocketTransport({ baseUrl, WebSocket, pingIntervalMs: 5000 })

export type Intent = 'new shows' | 'existing shows'

/** Both ends of a login, after the handshake and before the check code. */
export interface Paired {
  shown: QrDisplay
  scan: QrScan
}

/** Options of {@link pairDevices}. */
export interface PairOptions {
  intent: Intent
  showerTransport: TransportName
  scannerTransport: TransportName
  /** Where G talks; default `baseUrl`. */
  showerBaseUrl?: string
  /** Where S talks; default `baseUrl`. */
  scannerBaseUrl?: string
  baseUrl: string
  publicBaseUrl?: string
}

/** Shows a QR on G, scans it on S, and runs the handshake on both at once. */
export const pairDevices = async (options: PairOptions): Promise<Paired> => {
  const [shower, scanner] = options.intent === 'new shows' ? [NewDevice, ExistingDevice] : [ExistingDevice, NewDevice]
  const showerBase = options.showerBaseUrl ?? options.baseUrl
  const scannerBase = options.scannerBaseUrl ?? options.baseUrl
  const extra = options.publicBaseUrl === undefined ? {} : { publicBaseUrl: options.publicBaseUrl }
  const shown = await shower.showQr({ baseUrl: showerBase, transport: connectorOf(options.showerTransport, showerBase), ...extra })
  const scan = await scanner.scanQr(shown.qrLink, {
    baseUrl: scannerBase,
    transport: connectorOf(options.scannerTransport, scannerBase),
    ...extra,
  })
  await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scan.connect({ timeoutMs: 10_000 })])
  return { shown, scan }
}

/** Several messages both ways, S first (as after every MSC4108 handshake); returns what each side received. */
export const exchange = async (paired: Paired, rounds: number): Promise<{ atShower: unknown[]; atScanner: unknown[] }> => {
  const atShower: unknown[] = []
  const atScanner: unknown[] = []
  for (let i = 0; i < rounds; i++) {
    const [, fromScanner] = await Promise.all([
      paired.scan.send({ type: 'ping', n: i, text: `from S ${i} ✓` }),
      paired.shown.receive({ timeoutMs: 10_000 }),
    ])
    atShower.push(fromScanner)
    const [, fromShower] = await Promise.all([paired.shown.send({ type: 'pong', n: i }), paired.scan.receive({ timeoutMs: 10_000 })])
    atScanner.push(fromShower)
  }
  return { atShower, atScanner }
}

/** A check code other than `code` (two digits). */
export const otherCode = (code: string): string => `${(Number(code[0]) + 1) % 10}${code[1]}`
