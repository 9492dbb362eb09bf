/**
 * The redemption plan of a device-code grant: the new device's id and its tokens, fixed before the
 * session is minted and stored with the grant's move to `redeemed` (one compare-and-swap). A retry of
 * the redemption (the first answer lost to a killed process or a store error, or a concurrent poll)
 * mints exactly these records or finds them minted, so one grant makes one session, whatever fails.
 *
 * The token secrets are stored sealed under the device code: each is XORed with SHA-256 of a label and
 * the code (as a refresh successor is sealed, `core/auth/refresh-successor.ts`). Only the holder of the
 * code opens them; the store keeps the code's hash only, and the session's stores keep the tokens'
 * hashes only.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 */
import { sha256 } from '@noble/hashes/sha2.js'
import type { Random } from '../../ports.ts'
import { DEVICE_TOKEN_ID_BYTES, DEVICE_TOKEN_SECRET_BYTES, DeviceToken } from '../auth/device-token.ts'
import { fromBase64Url, newOpaqueId, toBase64Url } from '../crypto/secrets.ts'

/** How long after its redemption a grant's plan may be resumed by a poll with the grant's key. */
export const REDEMPTION_RETRY_GRACE_MS = 60_000

/** Random bytes of a device id (as every minted device's). */
const DEVICE_ID_BYTES = 12

/** What a redeemed grant stores: ids in the clear (lookup keys), the two secrets sealed. */
export interface RedemptionPlan {
  deviceId: string
  /** Id of the refresh family (the refresh token's id part). */
  refreshId: string
  /** Id of the first access token. */
  accessId: string
  /** The refresh and access secrets, each XORed with its pad (see {@link planRedemption}), base64url. */
  sealed: string
}

/** The session a plan stands for, opened with the device code. */
export interface PlannedSession {
  deviceId: string
  refresh: DeviceToken
  access: DeviceToken
}

const LABEL = 'qrelay redemption plan v1\u0000'
const encoder = new TextEncoder()

/** The pad of both secrets: 64 bytes derived from the device code alone. */
const pad = (deviceCode: string): Uint8Array => {
  const out = new Uint8Array(2 * DEVICE_TOKEN_SECRET_BYTES)
  out.set(sha256(encoder.encode(`${LABEL}refresh\u0000${deviceCode}`)), 0)
  out.set(sha256(encoder.encode(`${LABEL}access\u0000${deviceCode}`)), DEVICE_TOKEN_SECRET_BYTES)
  return out
}

const xor = (a: Uint8Array, b: Uint8Array): Uint8Array => a.map((byte, i) => byte ^ (b[i] as number))

/**
 * A new plan for the grant of `deviceCode`, and the session it stands for.
 *
 * @example
 * const { plan, session } = planRedemption(random, deviceCode) // store plan with `redeemed`, mint session
 */
export const planRedemption = (random: Random, deviceCode: string): { plan: RedemptionPlan; session: PlannedSession } => {
  const secrets = random.bytes(2 * DEVICE_TOKEN_SECRET_BYTES)
  const session: PlannedSession = {
    deviceId: newOpaqueId(random, DEVICE_ID_BYTES),
    refresh: new DeviceToken(newOpaqueId(random, DEVICE_TOKEN_ID_BYTES), toBase64Url(secrets.slice(0, DEVICE_TOKEN_SECRET_BYTES))),
    access: new DeviceToken(newOpaqueId(random, DEVICE_TOKEN_ID_BYTES), toBase64Url(secrets.slice(DEVICE_TOKEN_SECRET_BYTES))),
  }
  const plan: RedemptionPlan = {
    deviceId: session.deviceId,
    refreshId: session.refresh.id,
    accessId: session.access.id,
    sealed: toBase64Url(xor(secrets, pad(deviceCode))),
  }
  return { plan, session }
}

/**
 * The session of a stored plan, opened with `deviceCode`; null when the plan is malformed. A wrong
 * code opens other secrets, whose hashes match nothing stored.
 */
export const openRedemptionPlan = (plan: RedemptionPlan, deviceCode: string): PlannedSession | null => {
  let sealed: Uint8Array
  try {
    sealed = fromBase64Url(plan.sealed)
  } catch {
    // Safe: the decoder throws only on a seal that is not base64url, which is "malformed" (null) by contract.
    return null
  }
  if (sealed.length !== 2 * DEVICE_TOKEN_SECRET_BYTES) return null
  const secrets = xor(sealed, pad(deviceCode))
  return {
    deviceId: plan.deviceId,
    refresh: new DeviceToken(plan.refreshId, toBase64Url(secrets.slice(0, DEVICE_TOKEN_SECRET_BYTES))),
    access: new DeviceToken(plan.accessId, toBase64Url(secrets.slice(DEVICE_TOKEN_SECRET_BYTES))),
  }
}

/**
 * True while a redemption at `redeemedAtMs` may still be resumed at `now` (a `now` a little behind,
 * another process's clock, counts as within).
 */
export const withinRedemptionGrace = (redeemedAtMs: number, now: number): boolean => now - redeemedAtMs < REDEMPTION_RETRY_GRACE_MS
