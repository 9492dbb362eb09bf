/**
 * `POST /v1/devices/{id}/not-me` (Bearer, from another device of the same account): the remediation
 * of a login the user does not recognise. Signs the reported device out everywhere (its access
 * tokens and refresh families), and with it every device minted through the same QR channel
 * ("everything from that code"); denies the network it was last seen from for
 * `QRELAY_NOT_ME_DENY_SECONDS` (channel creation and approvals); counts an abuse signal against it;
 * and tells the account's devices and the operator (`device_not_me`). A device cannot report itself.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (detect and remediate)
 */
import { RelayError } from '../../core/errors.ts'
import type { Clock, DurableStore, SecurityEvents } from '../../ports.ts'
import type { AbuseGuard } from '../../services/abuse-guard.ts'
import type { AuthedEnv } from '../middleware/bearer-auth.ts'
import { NO_STORE, type RouteFn } from './account-shared.ts'

/**
 * Builds the handler.
 *
 * @example
 * authed.post('/v1/devices/:id/not-me', notMeRoute({ durable, events, clock, abuse, denyMs }))
 */
export const notMeRoute = (deps: {
  durable: DurableStore
  events: SecurityEvents
  clock: Clock
  abuse?: AbuseGuard | undefined
  denyMs: number
}): RouteFn<AuthedEnv> =>
  async function notMe(c) {
    const { accountId, deviceId: reporter } = c.get('principal')
    const id = c.req.param('id') ?? ''
    if (id === '' || id.length > 64) throw new RelayError('NOT_FOUND', { detail: 'no such device' })
    if (id === reporter) throw new RelayError('INVALID_PARAM', { detail: 'a device cannot report itself: sign out instead' })
    const device = await deps.durable.devices.get(accountId, id)
    if (device === null) throw new RelayError('NOT_FOUND', { detail: 'no such device' })
    const siblings =
      device.channelHash === undefined
        ? []
        : (await deps.durable.devices.listByAccount(accountId)).filter(
            (d) => d.id !== device.id && d.id !== reporter && d.channelHash === device.channelHash,
          )
    const revoked: string[] = []
    for (const d of [device, ...siblings]) if (await deps.durable.devices.revoke(accountId, d.id)) revoked.push(d.id)
    const network = device.lastSeenNetwork
    let deniedMs = 0
    if (network !== undefined && deps.abuse !== undefined) {
      await deps.abuse.record(network, 'declined_approval')
      if (deps.denyMs > 0) {
        await deps.abuse.deny(network, deps.denyMs)
        deniedMs = deps.denyMs
      }
    }
    await deps.events.emit(accountId, {
      type: 'device_not_me',
      atMs: deps.clock.now(),
      deviceId: device.id,
      details: { reported_by: reporter, revoked: revoked.length, network_denied: deniedMs > 0 },
    })
    c.get('log').warn({ revoked: revoked.length, networkDenied: deniedMs > 0 }, 'device reported not me')
    return c.json({ revoked_device_ids: revoked, network_denied_for_seconds: Math.floor(deniedMs / 1000) }, 200, NO_STORE)
  }
