/**
 * Channel tickets as a use case: issue the ticket of a freshly created native channel for its
 * creator's network, and turn a ticket an approver hands over into the sighting it states (where the
 * QR code's creator was). Signing and verifying are `channel-ticket.ts`; this adds the clock and the
 * network prefix lengths.
 *
 * @see SECURITY.md (the BCP mitigations: request binding, unique values); docs/qr-login.md
 */
import type { Config } from '../config.ts'
import { RelayError } from '../core/errors.ts'
import { parseAddress, prefixOf } from '../core/policy/network.ts'
import type { NetworkSighting } from '../core/policy/proximity.ts'
import type { Clock } from '../ports.ts'
import { signChannelTicket, verifyChannelTicket, type ChannelTicketClaims } from './channel-ticket.ts'
import type { SigningKeys } from './signing-keys.ts'

/** The service. */
export interface ChannelTickets {
  /** The current and recently retired public keys (`GET /oauth2/jwks`). */
  publicJwks: SigningKeys['publicJwks']
  /** Signs the ticket of channel `channelId` created from `clientAddress` (`'unknown'`: no network). */
  issue(input: { issuer: string; channelId: string; clientAddress: string; expiresAtMs: number }): Promise<string>
  /**
   * The sighting a ticket states (`channel_create`, the creator's network prefix); null when it names
   * no network. A ticket may be up to `maxAgeMs` past its channel's end.
   * Errors: RelayError INVALID_PARAM when the ticket does not verify (detail says why).
   */
  sightingOf(ticket: string, expect: { issuer: string; maxAgeMs: number }): Promise<NetworkSighting | null>
}

/**
 * Builds the service.
 *
 * @example
 * const ticket = await tickets.issue({ issuer, channelId: record.id, clientAddress, expiresAtMs: record.expiresAtMs })
 */
export const channelTickets = (deps: { keys: SigningKeys; clock: Clock; network: Config['network'] }): ChannelTickets => ({
  publicJwks: () => deps.keys.publicJwks(),
  issue({ issuer, channelId, clientAddress, expiresAtMs }) {
    const address = parseAddress(clientAddress)
    const { ipv4PrefixBits, ipv6PrefixBits } = deps.network
    return signChannelTicket(
      deps.keys,
      {
        issuer,
        channelId,
        ...(address === null ? {} : { network: prefixOf(address, ipv4PrefixBits, ipv6PrefixBits) }),
        issuedAtMs: deps.clock.now(),
        expiresAtMs,
      },
      deps.keys.platform,
    )
  },
  async sightingOf(ticket, expect) {
    let claims: ChannelTicketClaims
    try {
      // A ticket ends with its channel; the grant that follows may legitimately outlive it a little.
      claims = await verifyChannelTicket(
        ticket,
        deps.keys.publicJwks(),
        deps.clock.now(),
        { issuer: expect.issuer, clockToleranceMs: expect.maxAgeMs },
        deps.keys.platform,
      )
    } catch (error) {
      if (error instanceof RelayError) throw new RelayError('INVALID_PARAM', { detail: `channel_ticket: ${error.detail ?? 'invalid'}` })
      throw error
    }
    if (claims.network === undefined) return null
    return { source: 'channel_create', atMs: claims.issuedAtMs, prefix: claims.network }
  },
})
