/**
 * The signed-in user's devices: `GET /v1/devices`, `PATCH /v1/devices/{id}` (rename) and
 * `DELETE /v1/devices/{id}` (sign it out; user-interactive auth). Behind bearer auth. Renaming or
 * signing out ANOTHER device is refused to a device in QR quarantine (403, reason `quarantined`);
 * renaming another device also asks for UIA when the acting device's authentication is stale. Every
 * sign-out and rename is reported to the account (`device_signed_out`, `device_renamed`).
 *
 * @see https://spec.matrix.org/v1.16/client-server-api/#device-management
 */
import type { DeviceRecord } from '../../core/accounts/records.ts'
import { RelayError } from '../../core/errors.ts'
import type { DeviceActionGuard } from '../../services/device-actions.ts'
import type { DeviceManagement } from '../../services/device-management.ts'
import type { SessionsService } from '../../services/sessions.ts'
import type { AuthedEnv } from '../middleware/bearer-auth.ts'
import * as v from 'valibot'
import { body as jsonBody, parseWith, text } from '../openapi/fields.ts'
import { NO_STORE, readOptionalJson, withUia, type RouteFn } from './account-shared.ts'
import type { Context } from 'hono'

/** What the device routes need. */
export interface DeviceRoutesDeps {
  sessions: SessionsService
  /** UIA for the signed-in account (see `accountRoutes().authorize`). */
  authorize: (c: Context<AuthedEnv>, body: Record<string, unknown>) => Promise<unknown>
  /** The rule for actions on other devices (quarantine, recency). */
  guard: DeviceActionGuard
  /** Sign-outs and renames, reported. */
  devices: DeviceManagement
}

/** A device id. */
export const DEVICE_ID = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/))

/** `PATCH /v1/devices/{id}`. */
export const RENAME_DEVICE_BODY = jsonBody({ display_name: text('display_name', 100) })

/**
 * A device as the API shows it. `networks`: whether another device's last-seen network is shown (not to
 * a session in QR quarantine: finding 51); the caller's own always is.
 */
export const deviceBody = (d: DeviceRecord, currentDeviceId: string, networks = true): Record<string, unknown> => ({
  device_id: d.id,
  display_name: d.displayName,
  created_at_ms: d.createdAtMs,
  created_via: d.origin,
  last_seen_at_ms: d.lastSeenAtMs,
  ...(d.lastSeenNetwork === undefined || !(networks || d.id === currentDeviceId) ? {} : { last_seen_network: d.lastSeenNetwork }),
  ...(d.approvedByDeviceId === undefined ? {} : { approved_by_device_id: d.approvedByDeviceId }),
  ...(d.quarantineUntilMs > 0 ? { quarantine_until_ms: d.quarantineUntilMs } : {}),
  current: d.id === currentDeviceId,
})

const deviceIdParam = (c: Context<AuthedEnv>): string => {
  const id = c.req.param('id') ?? ''
  if (!v.is(DEVICE_ID, id)) throw new RelayError('NOT_FOUND', { detail: 'no such device' })
  return id
}

/**
 * Builds the handlers.
 *
 * @example
 * const r = deviceRoutes({ sessions, authorize, guard, devices })
 * app.get('/v1/devices', r.list)
 */
export const deviceRoutes = ({ sessions, authorize, guard, devices }: DeviceRoutesDeps) => {
  const list: RouteFn<AuthedEnv> = async (c) => {
    const { accountId, deviceId } = c.get('principal')
    const listed = await sessions.listDevices(accountId)
    // A session in QR quarantine does not learn where the owner's other devices are (finding 51).
    const me = listed.find((d) => d.id === deviceId)
    const networks = me !== undefined && guard.allows(me, 'see_other_networks')
    return c.json({ devices: listed.map((d) => deviceBody(d, deviceId, networks)) }, 200, NO_STORE)
  }

  const rename: RouteFn<AuthedEnv> = withUia(async (c) => {
    const id = deviceIdParam(c)
    const body = await readOptionalJson(c.req.raw)
    const { display_name: displayName } = parseWith(RENAME_DEVICE_BODY, body)
    const { accountId, deviceId } = c.get('principal')
    // Another device: quarantine, then a step-up when stale (finding 41); itself: always allowed.
    const stepUp = async () => {
      await authorize(c, body)
    }
    await devices.rename({ actor: { accountId, deviceId }, deviceId: id, displayName, stepUp })
    return c.json({}, 200, NO_STORE)
  })

  const remove: RouteFn<AuthedEnv> = withUia(async (c) => {
    const id = deviceIdParam(c)
    const body = await readOptionalJson(c.req.raw)
    const principal = c.get('principal')
    const { accountId } = principal
    const other = id !== principal.deviceId
    // Before anything about the target is revealed: a quarantined session acts on no other device.
    if (other) await guard.check(principal, 'revoke_devices')
    if ((await sessions.listDevices(accountId)).every((d) => d.id !== id)) {
      throw new RelayError('NOT_FOUND', { detail: 'no such device' })
    }
    // Always a fresh UIA here (which also counts as the recent authentication).
    await authorize(c, body)
    if (other) await guard.markAuthenticated(principal)
    const signedOut = await devices.signOut({ accountId, deviceId: principal.deviceId }, id)
    if (!signedOut) throw new RelayError('NOT_FOUND', { detail: 'no such device' })
    return c.json({}, 200, NO_STORE)
  })

  return { list, rename, remove }
}
