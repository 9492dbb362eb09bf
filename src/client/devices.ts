/**
 * The device SDK's entry points. A login pairs a **new device** (signing in) with an **existing
 * device** (already signed in); either may show the QR code, and the other scans it (the MSC4108
 * intents). The one that shows it is G, the scanner is S:
 *
 * | intent | shows the QR (G) | scans (S) | link |
 * |---|---|---|---|
 * | the new device shows (`login`) | `NewDevice.showQr` | `ExistingDevice.scanQr` | `/approve#v1.…` |
 * | the existing device shows (`reciprocate`) | `ExistingDevice.showQr` | `NewDevice.scanQr` | `/link#v1.…` |
 *
 * The link carries its intent (MSC4388's byte), so `scanQr` refuses a QR shown by a device of its own
 * kind with INVALID_QR before any request, instead of failing later in the login.
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
  /**
   * Checks a scanned qrelay link (its intent, then its ticket) and prepares to join its channel (this
   * device is S). A link shown by a device of the same kind is refused with INVALID_QR.
   */
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

// Finishing a QR login once the channel is open (docs/qr-login.md).
export { signIn, type DeviceSession, type SignInOptions, type SignInStep } from './sign-in.ts'
export { approveSignIn, type ApprovalContext, type ApprovalResult, type ApproveOptions, type StepUpChallenge } from './approve.ts'
export { generateDpopKey, type DpopKey } from './dpop-key.ts'
export { reportNotMe, type NotMeOptions, type NotMeResult } from './not-me.ts'
export type { CreatorCredential } from './native-api.ts'

// The channel transports (the default is preferWebSocket).
export { preferWebSocket, type PreferWebSocketOptions } from './auto-transport.ts'
export { httpTransport, type HttpTransportOptions } from './http-transport.ts'
export { webSocketTransport, type WebSocketTransportOptions } from './ws-transport.ts'
