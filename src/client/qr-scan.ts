/**
 * S's side of the channel: the device that scanned the QR. It checks the link (a QR shown by a device
 * of its own kind is refused) and its ticket before touching the channel (so an app can warn when the
 * QR was made on another network), then claims the channel, sends LoginInitiate, and trusts the
 * channel once G's LoginOk opens: it shows the check code for G's user to type.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 * @see SECURITY.md (the BCP mitigations: request binding, unique values); docs/qr-login.md
 */
import { acceptOk, createInitiate } from '../core/channel/handshake.ts'
import type { LinkIntent } from '../core/channel/qr-link.ts'
import { ClientError } from './errors.ts'
import { systemNow } from './platform.ts'
import { verifyScannedLink, type TicketInfo, type VerifiedLink } from './scanned-link.ts'
import { SessionBase, type DeviceKind, type SessionOptions, type SessionSummary } from './session-base.ts'
import type { ReceiveOptions } from './transport.ts'

/** Options of a scan. */
export interface ScanOptions extends SessionOptions {
  /** Allowed difference between this device's clock and the server's, for the ticket. Default 30 000 ms. */
  clockToleranceMs?: number
}

/** The intent a device scans: the existing device approves a login, the new device takes a reciprocate QR. */
const SCANNED_INTENT: Record<DeviceKind, LinkIntent> = { existing: 'login', new: 'reciprocate' }

/** A scanned QR code and the channel behind it (role S). */
export class QrScan extends SessionBase {
  readonly role = 'S' as const
  readonly #link: VerifiedLink

  private constructor(device: DeviceKind, options: ScanOptions, link: VerifiedLink) {
    super(device, options)
    this.#link = link
  }

  /**
   * Parses the scanned link and verifies its ticket against the server's JWKS. Does not join yet.
   * Errors: INVALID_QR (also, before any request, a QR shown by a device of this kind), TICKET_INVALID,
   * TRANSPORT_FAILED.
   */
  static async scan(device: DeviceKind, scanned: string, options: ScanOptions): Promise<QrScan> {
    const link = await verifyScannedLink(scanned, {
      baseUrl: options.baseUrl,
      intent: SCANNED_INTENT[device],
      ...(options.publicBaseUrl === undefined ? {} : { publicBaseUrl: options.publicBaseUrl }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.clockToleranceMs === undefined ? {} : { clockToleranceMs: options.clockToleranceMs }),
      now: options.now ?? systemNow,
    })
    return new QrScan(device, options, link)
  }

  /** What the server's signed ticket says about the QR's creator. */
  get ticket(): TicketInfo {
    return { ...this.#link.ticket }
  }

  /**
   * The server-signed channel ticket of the scanned QR. `approveSignIn` sends it with the approval, so
   * the server knows where the new device created the channel. Never log it.
   */
  get channelTicket(): string {
    return this.#link.signedTicket
  }

  /** The QR creator's network prefix as the server saw it (warn the user if it is not theirs). */
  get creatorNetwork(): string | undefined {
    return this.#link.ticket.network
  }

  /**
   * Claims the channel, sends LoginInitiate and waits for LoginOk. Then show {@link checkCode}.
   * Errors: REFUSED (someone else claimed it), CHANNEL_GONE, DECRYPTION_FAILED / PROTOCOL_ERROR
   * (aborted), INVALID_STATE, and the transport's.
   */
  async connect(options?: ReceiveOptions): Promise<void> {
    this.expect('waiting', 'connect')
    if (this.transport !== null) throw new ClientError('INVALID_STATE', { detail: 'already connecting' })
    const step = createInitiate(this.random, this.#link.publicKey)
    if (!step.ok) throw new ClientError('INVALID_QR', { detail: step.detail ?? 'the QR key is not usable' })
    this.transport = await this.connector.join(this.#link.channelId)
    this.channel = step.value.state
    await this.sendRaw(step.value.message)
    const answer = await this.receiveRaw(options)
    const verified = acceptOk(this.channel, answer)
    if (!verified.ok) {
      const code = verified.code === 'DECRYPTION_FAILED' ? 'DECRYPTION_FAILED' : 'PROTOCOL_ERROR'
      throw await this.failProtocol(code, verified.detail ?? 'bad LoginOk')
    }
    this.channel = verified.value
    this.setStatus('open', true)
  }

  /** The two digits to show the user, who types them on the other device. Errors: INVALID_STATE before `connect()`. */
  get checkCode(): string {
    const channel = this.channel
    if (channel === null || channel.kind !== 'verified' || channel.checkCode === null) {
      throw new ClientError('INVALID_STATE', { detail: 'no check code before the handshake' })
    }
    return channel.checkCode
  }

  protected override extraSummary(): Partial<SessionSummary> {
    const extra: Partial<SessionSummary> = {}
    if (this.channel?.kind === 'verified' && this.channel.checkCode !== null) extra.checkCode = this.channel.checkCode
    if (this.#link.ticket.network !== undefined) extra.creatorNetwork = this.#link.ticket.network
    return extra
  }
}
