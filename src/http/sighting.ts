/**
 * A network sighting of the current request for the proximity policy: the client address and, when
 * the runtime has a locator (mmdb files on Node, `request.cf` on Workers), its ASN and location.
 *
 * @see ../core/policy/proximity.ts
 */
import type { Context } from 'hono'
import type { NetworkSighting, SightingSource } from '../core/policy/proximity.ts'
import { RelayError } from '../core/errors.ts'
import type { Clock, NetworkLocator } from '../ports.ts'
import { verifyChannelTicket } from '../services/channel-ticket.ts'
import type { SigningKeys } from '../services/signing-keys.ts'
import type { AppEnv } from './context.ts'

/**
 * Builds the sighting. A failing locator only loses the extra facts.
 *
 * @example
 * const sighting = await sightingOf(c, 'poll', { clock, locator })
 */
export const sightingOf = async <E extends AppEnv>(
  c: Context<E>,
  source: SightingSource,
  deps: { clock: Clock; locator?: NetworkLocator | undefined },
): Promise<NetworkSighting> => {
  const ip = c.get('clientAddress')
  const sighting: NetworkSighting = { source, atMs: deps.clock.now() }
  if (ip === 'unknown') return sighting
  sighting.ip = ip
  if (deps.locator === undefined) return sighting
  try {
    const facts = await deps.locator.locate(ip, c.req.raw)
    if (facts.asn !== undefined) sighting.asn = facts.asn
    if (facts.geo !== undefined) sighting.geo = facts.geo
  } catch {
    // Unknown facts are simply absent.
  }
  return sighting
}

/**
 * The sighting a signed channel ticket states: the network prefix the QR code's creator had when it
 * created the channel (`channel_create`). The scanner hands the ticket over with its request, so the
 * server learns the *other* device's creation network under its own signature (BCP: network address
 * in the QR code, digitally signed). Null when the ticket names no network.
 * Errors: RelayError INVALID_PARAM when the ticket does not verify (detail says why).
 *
 * @example
 * const seen = await ticketSightingOf(body.channel_ticket, { keys, clock, issuer, maxAgeMs: 600_000 })
 */
export const ticketSightingOf = async (
  ticket: string,
  deps: { keys: SigningKeys; clock: Clock; issuer: string; maxAgeMs: number },
): Promise<NetworkSighting | null> => {
  let claims
  try {
    // A ticket ends with its channel; the grant that follows may legitimately outlive it a little.
    claims = await verifyChannelTicket(ticket, deps.keys.publicJwks(), deps.clock.now(), {
      issuer: deps.issuer,
      clockToleranceMs: deps.maxAgeMs,
    })
  } catch (error) {
    if (error instanceof RelayError) throw new RelayError('INVALID_PARAM', { detail: `channel_ticket: ${error.detail ?? 'invalid'}` })
    throw error
  }
  if (claims.network === undefined) return null
  return { source: 'channel_create', atMs: claims.issuedAtMs, prefix: claims.network }
}
