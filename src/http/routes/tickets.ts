/**
 * Channel tickets over HTTP: the JWKS that verifies them (`GET /oauth2/jwks`), and the issuer the
 * native create endpoint calls (`services/channel-tickets.ts` signs). A ticket binds the channel id,
 * its expiry and the creator's network prefix under the server's signature, so the scanning device
 * can check where the QR came from.
 *
 * @see SECURITY.md (the BCP mitigations: request binding, unique values); docs/qr-login.md
 * @see https://www.rfc-editor.org/rfc/rfc7517 (JWK Set)
 */
import type { Context, Handler } from 'hono'
import type { ChannelRecord } from '../../core/rendezvous/channel.ts'
import type { ChannelTickets } from '../../services/channel-tickets.ts'
import type { AppEnv } from '../context.ts'

/** `GET /oauth2/jwks`: the current and recently retired public keys. */
export const jwksRoute =
  (tickets: Pick<ChannelTickets, 'publicJwks'>): Handler<AppEnv> =>
  (c) =>
    c.json(tickets.publicJwks(), 200, { 'Cache-Control': 'public, max-age=300', 'Access-Control-Allow-Origin': '*' })

/** Signs the ticket of a freshly created native channel for the request's client. */
export const ticketIssuer =
  (tickets: ChannelTickets, publicBaseUrl: string | undefined) =>
  (c: Context<AppEnv>, record: ChannelRecord): Promise<string> =>
    tickets.issue({
      issuer: publicBaseUrl ?? new URL(c.req.url).origin,
      channelId: record.id,
      clientAddress: c.get('clientAddress'),
      expiresAtMs: record.expiresAtMs,
    })
