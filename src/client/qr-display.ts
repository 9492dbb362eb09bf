/**
 * G's side of the channel: the device whose key is in the QR. It creates the channel, shows the
 * qrelay link as a QR code (intent login on the new device, reciprocate on the existing one), answers
 * the scanner's LoginInitiate with LoginOk, and trusts the channel only once its user types the check
 * code the scanner shows. A wrong code aborts the channel
 * (`check_code_mismatch`): someone else may have scanned the QR first.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 * @see SECURITY.md (the BCP mitigations: request binding, unique values); docs/qr-login.md
 */
import { renderQrSvg, type QrSvgOptions } from '../adapters/qr/svg.ts'
import { acceptInitiate, confirmCheckCode, startGenerator } from '../core/channel/handshake.ts'
import { encodeChannelLink, type LinkIntent } from '../core/channel/qr-link.ts'
import { ClientError } from './errors.ts'
import { normalizeBaseUrl } from './platform.ts'
import { SessionBase, type DeviceKind, type SessionOptions } from './session-base.ts'
import type { ReceiveOptions } from './transport.ts'

const encoder = new TextEncoder()
/** The link's intent says which kind of device showed it, so a scanner of the same kind can refuse it. */
const SHOWN_INTENT: Record<DeviceKind, LinkIntent> = { new: 'login', existing: 'reciprocate' }

/** A shown QR code and the channel behind it (role G). */
export class QrDisplay extends SessionBase {
  readonly role = 'G' as const
  #link = ''

  private constructor(device: DeviceKind, options: SessionOptions) {
    super(device, options)
  }

  /**
   * Creates a channel and the QR link for it.
   * Errors: RATE_LIMITED, TRANSPORT_FAILED (relay unreachable, or a base URL a link cannot carry).
   */
  static async start(device: DeviceKind, options: SessionOptions): Promise<QrDisplay> {
    const display = new QrDisplay(device, options)
    await display.#open(normalizeBaseUrl(options.publicBaseUrl ?? options.baseUrl))
    return display
  }

  async #open(publicBaseUrl: string): Promise<void> {
    const { transport, ticket } = await this.connector.create()
    const channel = startGenerator(this.random)
    const { channelId } = transport
    const link = encodeChannelLink(publicBaseUrl, {
      intent: SHOWN_INTENT[this.device],
      publicKey: channel.key.publicKey,
      channelId,
      ticket,
    })
    if (!link.ok) {
      channel.key.forget()
      // Safe to drop: the link error below is what the caller must see; an unclosed channel expires on its own.
      await transport.close().catch(() => {})
      throw new ClientError('TRANSPORT_FAILED', { detail: `cannot build the QR link: ${link.detail ?? 'invalid'}` })
    }
    this.transport = transport
    this.channel = channel
    this.#link = link.value
  }

  /** The qrelay link to show as a QR code. It carries bearer values: never log it. */
  get qrLink(): string {
    return this.#link
  }

  /** The QR code of {@link qrLink} as an SVG document (byte mode, error correction Q by default). */
  qrSvg(options?: QrSvgOptions): string {
    return renderQrSvg(encoder.encode(this.#link), options)
  }

  /**
   * Waits for the scanner's LoginInitiate and answers LoginOk. Then show a field for the check code.
   * Errors: DECRYPTION_FAILED / PROTOCOL_ERROR (the channel is aborted), INVALID_STATE, and the
   * transport's (CHANNEL_EXPIRED when nobody scanned in time, CANCELLED, ABORTED…).
   */
  async waitForPeer(options?: ReceiveOptions): Promise<void> {
    this.expect('waiting', 'wait for the scanner')
    const initiate = await this.receiveRaw(options)
    const step = acceptInitiate(this.channel!, initiate)
    if (!step.ok) {
      const code = step.code === 'DECRYPTION_FAILED' ? 'DECRYPTION_FAILED' : 'PROTOCOL_ERROR'
      throw await this.failProtocol(code, step.detail ?? 'bad LoginInitiate')
    }
    this.channel = step.value.state
    await this.sendRaw(step.value.message)
    // The scanner speaks first after the handshake (m.login.protocols or m.login.protocol).
    this.setStatus('confirming', false)
  }

  /**
   * Checks the code the user typed against the channel's. On a match the channel is trusted
   * (`status` becomes `open`). On a mismatch the channel is aborted with `check_code_mismatch`.
   * Errors: INVALID_CHECK_CODE (not two digits: ask again, nothing spent), CHECK_CODE_MISMATCH
   * (aborted), INVALID_STATE (not waiting for a code).
   */
  async confirmCheckCode(entered: string): Promise<void> {
    this.expect('confirming', 'confirm a check code')
    const result = confirmCheckCode(this.channel!, entered)
    if (result.ok) {
      this.channel = result.value
      this.setStatus('open', false)
      return
    }
    switch (result.code) {
      case 'INVALID_PARAM':
        throw new ClientError('INVALID_CHECK_CODE', { detail: 'a check code is two digits' })
      case 'CHECK_CODE_MISMATCH':
        // The mismatch is what the user must hear about, even if telling the relay failed.
        await this.abort('check_code_mismatch').catch(() => {})
        throw new ClientError('CHECK_CODE_MISMATCH', { detail: 'the check code does not match: the channel was aborted' })
      case 'INVALID_TRANSITION':
        throw new ClientError('INVALID_STATE', { detail: result.detail ?? 'the channel cannot take a check code' })
      default: {
        const never: never = result.code
        throw new ClientError('INVALID_STATE', { detail: String(never) })
      }
    }
  }
}
