/**
 * The device SDK's entry points. A login pairs a **new device** (signing in) with an **existing
 * device** (already signed in); either may show the QR code, and the other scans it (the MSC4108
 * intents). The one that shows it is G, the scanner is S:
 *
 * | intent | shows the QR (G) | scans (S) |
 * |---|---|---|
 * | the new device shows | `NewDevice.showQr` | `ExistingDevice.scanQr` |
 * | the existing device shows | `ExistingDevice.showQr` | `NewDevice.scanQr` |
 *
 * G: `showQr` → `qrLink` / `qrSvg()` → `waitForPeer()` → `confirmCheckCode(typed)` → `receive()` / `send()` → `close()`.
 * S: `scanQr(link)` (ticket checked; `creatorNetwork`) → `connect()` → show `checkCode` → `send()` / `receive()` → `close()`.
 * After the handshake S speaks first; then the two take turns. Both ends expose `channelBinding`.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 * @example
 * const shown = await NewDevice.showQr({ baseUrl: 'https://relay.example' })
 * img.src = `data:image/svg+xml,${encodeURIComponent(shown.qrSvg())}`
 * await shown.waitForPeer()
 * await shown.confirmCheckCode(prompt('Code shown on your phone'))
 */
import { QrDisplay } from './qr-display.ts'
import { QrScan, type ScanOptions } from './qr-scan.ts'
import type { DeviceKind, SessionOptions } from './session-base.ts'

/** What a device can do with a QR code. */
export interface DeviceApi {
  /** Creates a channel and a QR code for the other device to scan (this device is G). */
  showQr(options: SessionOptions): Promise<QrDisplay>
  /** Checks a scanned qrelay link (ticket included) and prepares to join its channel (this device is S). */
  scanQr(scanned: string, options: ScanOptions): Promise<QrScan>
}

const deviceApi = (device: DeviceKind): DeviceApi =>
  Object.freeze({
    showQr: (options: SessionOptions) => QrDisplay.start(device, options),
    scanQr: (scanned: string, options: ScanOptions) => QrScan.scan(device, scanned, options),
  })

/** The device that is signing in. */
export const NewDevice: DeviceApi = deviceApi('new')

/** The device already signed in, approving the new one. */
export const ExistingDevice: DeviceApi = deviceApi('existing')
