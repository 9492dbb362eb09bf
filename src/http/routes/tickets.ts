/**
 * Channel tickets over HTTP: the JWKS that verifies them (`GET /oauth2/jwks`), and the issuer the
 * native create endpoint calls. A ticket binds the channel id, its expiry and the creator's network
 * prefix under the server's signature, so the scanning device can check where the QR came from.
 *
 * @see SECURITY.md (the BCP mitigations: request binding, unique values); docs/qr-login.md
 * @see https://www.rfc-editor.org/rfc/rfc7517 (JWK Set)
 */
import type { Context, Handler } from 'hono'
import type { Config } from '../../config.ts'
import { parseAddress, prefixOf } from '../../core/policy/network.ts'
import type { ChannelRecord } from '../../core/rendezvous/channel.ts'
import type { Clock } from '../../ports.ts'
import { signChannelTicket } from '../../services/channel-ticket.ts'
import type { SigningKeys } from '../../services/signing-keys.ts'
import type { AppEnv } from '../context.ts'

/** `GET /oauth2/jwks`: the current and recently retired public keys. */
export const jwksRoute =
  (keys: SigningKeys): Handler<AppEnv> =>
  (c) =>
    c.json(keys.publicJwks(), 200, { 'Cache-Control': 'public, max-age=300', 'Access-Control-Allow-Origin': '*' })

/** Signs the ticket of a freshly created native channel for the request's client. */
export const ticketIssuer =
  (keys: SigningKeys, clock: Clock, publicBaseUrl: string | undefined, network: Config['network']) =>
  async (c: Context<AppEnv>, record: ChannelRecord): Promise<string> => {
    const address = parseAddress(c.get('clientAddress'))
    return signChannelTicket(keys, {
      issuer: publicBaseUrl ?? new URL(c.req.url).origin,
      channelId: record.id,
      ...(address === null ? {} : { network: prefixOf(address, network.ipv4PrefixBits, network.ipv6PrefixBits) }),
      issuedAtMs: clock.now(),
      expiresAtMs: record.expiresAtMs,
    })
  }
