/**
 * What the scanning device does with a scanned qrelay link before it touches the channel: parse it
 * against this server's approve or link page, refuse it if its intent is not the one the scanner
 * expects (a new device scanning another new device's QR), then check the channel ticket in it with
 * the keys the server publishes at `GET /oauth2/jwks` (issuer = the server's public base URL,
 * subject = the channel id), kept as long as the server's `Cache-Control` allows (`jwks-cache.ts`).
 * A link whose id, key or ticket was changed is refused here, before any join.
 *
 * @see SECURITY.md (the BCP mitigations: request binding, unique values); docs/qr-login.md
 */
import { parseChannelLink, type LinkIntent } from '../core/channel/qr-link.ts'
import { RelayError } from '../core/errors.ts'
import { verifyChannelTicket } from '../services/channel-ticket.ts'
import { ClientError } from './errors.ts'
import { withJwks } from './jwks-cache.ts'
import type { FetchLike } from './native-api.ts'
import { normalizeBaseUrl } from './platform.ts'

/** The public facts a verified ticket states about the QR's creator. */
export interface TicketInfo {
  /** The server that signed it (its public base URL). */
  issuer: string
  /** The QR creator's network prefix as the server saw it (e.g. `203.0.113.0/24`), when known. */
  network?: string
  /** When the channel (and the ticket) expires, server time, ms. */
  expiresAtMs: number
}

/** A scanned link that passed every check. */
export interface VerifiedLink {
  /** Who showed the QR: `login` = the new device, `reciprocate` = the existing device. */
  intent: LinkIntent
  publicKey: Uint8Array
  /** A bearer value: never log it. */
  channelId: string
  ticket: TicketInfo
  /** The server-signed ticket as scanned (a JWS): the existing device hands it to the server with its approval. */
  signedTicket: string
}

/** Options of {@link verifyScannedLink}. */
export interface VerifyLinkOptions {
  /** Where the JWKS is fetched (`<baseUrl>/oauth2/jwks`). */
  baseUrl: string
  /** The server's public base URL: the base of the link's page and the ticket's issuer. Default `baseUrl`. */
  publicBaseUrl?: string
  /** The only intent accepted (what the other kind of device shows); any intent when absent. */
  intent?: LinkIntent
  fetch?: FetchLike
  now: () => number
  /** Allowed difference between this device's clock and the server's. Default 30 000 ms. */
  clockToleranceMs?: number
}

/** The global fetch, one function for every scan, so the JWK set it fetched is kept across scans (`jwks-cache.ts`). */
const globalFetch: FetchLike = (input, init) => globalThis.fetch(input, init)

/** Why a link of this intent was refused, in words a user can act on. */
const WRONG_INTENT: Record<LinkIntent, string> = {
  login: 'this QR code was shown by a device signing in: scan it with a device already signed in',
  reciprocate: 'this QR code was shown by a device already signed in: scan it with the device signing in',
}

/**
 * Parses `text` as a qrelay link of this server and verifies its ticket.
 * Errors: INVALID_QR (not a link of this server, or of another intent than `options.intent`: refused
 * before any request), TICKET_INVALID (signature, issuer, channel, expiry),
 * TRANSPORT_FAILED (no JWKS).
 *
 * @example
 * const link = await verifyScannedLink(scanned, { baseUrl, intent: 'login', now: Date.now })
 * if (link.ticket.network !== undefined) warnIfOtherNetwork(link.ticket.network)
 */
export const verifyScannedLink = async (text: string, options: VerifyLinkOptions): Promise<VerifiedLink> => {
  const baseUrl = normalizeBaseUrl(options.baseUrl)
  const issuer = normalizeBaseUrl(options.publicBaseUrl ?? options.baseUrl)
  const parsed = parseChannelLink(text.trim(), issuer)
  if (!parsed.ok) throw new ClientError('INVALID_QR', { detail: parsed.detail ?? 'not a qrelay link of this server' })
  const { intent, publicKey, channelId, ticket } = parsed.value
  if (options.intent !== undefined && intent !== options.intent) {
    throw new ClientError('INVALID_QR', { detail: WRONG_INTENT[intent] })
  }
  const doFetch: FetchLike = options.fetch ?? globalFetch
  const now = options.now()
  const expect = { issuer, channelId, clockToleranceMs: options.clockToleranceMs ?? 30_000 }
  try {
    const claims = await withJwks(`${baseUrl}/oauth2/jwks`, doFetch, now, (jwks) => verifyChannelTicket(ticket, jwks, now, expect))
    const info: TicketInfo = { issuer: claims.issuer, expiresAtMs: claims.expiresAtMs }
    if (claims.network !== undefined) info.network = claims.network
    return { intent, publicKey, channelId, ticket: info, signedTicket: ticket }
  } catch (error) {
    if (error instanceof RelayError) {
      throw new ClientError('TICKET_INVALID', { detail: error.detail ?? 'the channel ticket does not verify' })
    }
    throw error
  }
}
