/**
 * The RFC 8628 device authorization grant's pure transitions (the record is in `grant-record.ts`). A
 * grant is born pending, is approved at most once (only by an approver who holds the same channel
 * binding and names the same DPoP key as the new device), or declined, and is redeemed at most once;
 * past its expiry it is dead.
 *
 * States: `pending` → `approved` → `redeemed`; `pending` → `declined`; `pending | approved` → `expired`.
 * Every transition takes `now` and returns a {@link Result}; the caller stores the next record with
 * compare-and-swap (or `takeOnce` for redemption), so two racing approvals or redemptions cannot both win.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628
 * @see DESIGN.md, "The server's part in the channel" (channel binding, dpop_jkt)
 */
import type { Random } from '../../ports.ts'
import { equalConstantTime, hashSecret, newOpaqueId } from '../crypto/secrets.ts'
import { fail, ok, type Result } from '../errors.ts'
import { attemptInitiationCode, type AttemptVerdict } from '../policy/initiation.ts'
import type { NetworkSighting } from '../policy/proximity.ts'
import type { RedemptionPlan } from './redemption-plan.ts'
import { generateDeviceCode, generateUserCode, hashUserCode } from './user-code.ts'
import { approvalOf, awaitsInitiationCode, grantForLog, isGrantExpired, type DeviceGrant } from './grant-record.ts'

export {
  approvalOf,
  awaitsInitiationCode,
  grantForLog,
  isGrantExpired,
  type DeviceGrant,
  type GrantApproval,
} from './grant-record.ts'

/** What a new grant is made of. */
export interface NewGrantInput {
  ttlMs: number
  intervalSeconds: number
  scope: string
  dpopJkt: string
  channelBinding: string
  clientId?: string
  requestedDeviceName?: string
  /** Sightings so far: the channel creation's and this request's. */
  networks?: readonly NetworkSighting[]
}

/**
 * A new grant and the two codes, which exist in the clear only in this value (hand them to the client).
 * It prints (JSON, `util.inspect`) without the codes.
 */
export interface IssuedGrant {
  grant: DeviceGrant
  deviceCode: string
  /** Canonical form; show it with `formatUserCode`. */
  userCode: string
}

/** Most sightings a grant keeps: polls repeat, and a record must stay small. */
export const MAX_GRANT_SIGHTINGS = 16

/**
 * Creates a pending grant with fresh codes. Errors: INVALID_PARAM when the TTL or interval is not
 * positive, or the binding or thumbprint is empty.
 *
 * @example
 * const issued = createGrant(random, now, { ttlMs: 300_000, intervalSeconds: 5, scope, dpopJkt, channelBinding })
 */
export const createGrant = (random: Random, now: number, input: NewGrantInput): Result<IssuedGrant, 'INVALID_PARAM'> => {
  if (!(input.ttlMs > 0) || !Number.isFinite(input.ttlMs)) {
    return fail('INVALID_PARAM', 'the grant TTL must be positive')
  }
  if (!(input.intervalSeconds > 0)) return fail('INVALID_PARAM', 'the polling interval must be positive')
  if (input.dpopJkt === '') return fail('INVALID_PARAM', 'a DPoP key thumbprint is required')
  if (input.channelBinding === '') return fail('INVALID_PARAM', 'a channel binding is required')
  const deviceCode = generateDeviceCode(random)
  const userCode = generateUserCode(random)
  const grant: DeviceGrant = {
    id: newOpaqueId(random),
    deviceCodeHash: hashSecret(deviceCode),
    userCodeHash: hashUserCode(userCode),
    scope: input.scope,
    dpopJkt: input.dpopJkt,
    channelBinding: input.channelBinding,
    createdAtMs: now,
    expiresAtMs: now + input.ttlMs,
    intervalSeconds: input.intervalSeconds,
    networks: (input.networks ?? []).slice(0, MAX_GRANT_SIGHTINGS),
    state: { kind: 'pending' },
  }
  if (input.clientId !== undefined) grant.clientId = input.clientId
  if (input.requestedDeviceName !== undefined) grant.requestedDeviceName = input.requestedDeviceName
  return ok(new HiddenCodes(grant, deviceCode, userCode))
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

/**
 * An issued grant that JSON and `util.inspect` show with the grant's public fields only, never the
 * codes (the two methods are the class's, not made per grant).
 */
class HiddenCodes implements IssuedGrant {
  grant: DeviceGrant
  deviceCode: string
  userCode: string
  constructor(grant: DeviceGrant, deviceCode: string, userCode: string) {
    this.grant = grant
    this.deviceCode = deviceCode
    this.userCode = userCode
  }
  toJSON(): { grant: ReturnType<typeof grantForLog> } {
    return { grant: grantForLog(this.grant) }
  }
  [INSPECT](): { grant: ReturnType<typeof grantForLog> } {
    return this.toJSON()
  }
}

/**
 * Adds a sighting unless the grant already holds one from the same address and source, or is full.
 *
 * @example
 * grant = recordSighting(grant, { source: 'poll', atMs: now, ip })
 */
export const recordSighting = (grant: DeviceGrant, sighting: NetworkSighting): DeviceGrant => {
  const seen = grant.networks.some((s) => s.source === sighting.source && s.ip === sighting.ip && s.prefix === sighting.prefix)
  if (seen || grant.networks.length >= MAX_GRANT_SIGHTINGS) return grant
  return { ...grant, networks: [...grant.networks, sighting] }
}

/** Fails unless the grant is pending and unexpired. */
const checkPending = (grant: DeviceGrant, now: number): Result<DeviceGrant, 'GRANT_EXPIRED' | 'INVALID_TRANSITION'> => {
  if (isGrantExpired(grant, now) || grant.state.kind === 'expired') return fail('GRANT_EXPIRED', 'the code has expired')
  if (grant.state.kind !== 'pending') return fail('INVALID_TRANSITION', `the grant is already ${grant.state.kind}`)
  return ok(grant)
}

/** What the approving device presents. */
export interface Approver {
  accountId: string
  deviceId: string
  /** The binding the approver derived from its side of the channel. */
  channelBinding: string
  /** The DPoP key thumbprint the approver received over the channel. */
  dpopJkt: string
  /** The account's `authEpoch` as the approval service read it (see `GrantApproval.authEpoch`). */
  authEpoch?: number
}

/**
 * Approves a pending grant. Both comparisons run in constant time and both always run.
 * Errors: GRANT_EXPIRED; INVALID_TRANSITION when not pending (approved once only);
 * CHANNEL_BINDING_MISMATCH (someone sits between the devices); DPOP_KEY_MISMATCH (not the key the
 * approver saw in the channel).
 *
 * @example
 * const next = approveGrant(grant, { accountId, deviceId, channelBinding, dpopJkt }, now)
 */
export const approveGrant = (
  grant: DeviceGrant,
  approver: Approver,
  now: number,
): Result<DeviceGrant, 'GRANT_EXPIRED' | 'INVALID_TRANSITION' | 'CHANNEL_BINDING_MISMATCH' | 'DPOP_KEY_MISMATCH'> => {
  const live = checkPending(grant, now)
  if (!live.ok) return live
  const bindingOk = equalConstantTime(grant.channelBinding, approver.channelBinding)
  const keyOk = equalConstantTime(grant.dpopJkt, approver.dpopJkt)
  if (!bindingOk) return fail('CHANNEL_BINDING_MISMATCH', 'the channel binding does not match this code')
  if (!keyOk) return fail('DPOP_KEY_MISMATCH', 'the device key does not match this code')
  const approval = approvalOf({ accountId: approver.accountId, deviceId: approver.deviceId, atMs: now, authEpoch: approver.authEpoch })
  return ok({ ...grant, state: { kind: 'approved', ...approval } })
}

/**
 * Declines a pending grant (the default answer of the approval screen). Errors: GRANT_EXPIRED,
 * INVALID_TRANSITION when not pending.
 *
 * @example
 * const next = declineGrant(grant, now)
 */
export const declineGrant = (grant: DeviceGrant, now: number): Result<DeviceGrant, 'GRANT_EXPIRED' | 'INVALID_TRANSITION'> => {
  const live = checkPending(grant, now)
  if (!live.ok) return live
  return ok({ ...grant, state: { kind: 'declined', atMs: now } })
}

/**
 * Redeems an approved grant, once, for a proof made by the approved key. Errors: GRANT_EXPIRED;
 * INVALID_TRANSITION when not approved (pending, declined, or already redeemed); DPOP_KEY_MISMATCH.
 *
 * @example
 * const spent = redeemGrant(grant, proof.jkt, now) // then mint a session for spent.value.state
 */
export const redeemGrant = (
  grant: DeviceGrant,
  proofJkt: string,
  now: number,
): Result<DeviceGrant, 'GRANT_EXPIRED' | 'INVALID_TRANSITION' | 'DPOP_KEY_MISMATCH'> => {
  const state = grant.state
  if (state.kind === 'redeemed') return fail('INVALID_TRANSITION', 'the grant was already redeemed')
  if (isGrantExpired(grant, now) || state.kind === 'expired') return fail('GRANT_EXPIRED', 'the code has expired')
  if (state.kind !== 'approved') return fail('INVALID_TRANSITION', `the grant is ${state.kind}`)
  if (awaitsInitiationCode(grant)) return fail('INVALID_TRANSITION', 'the verification code was not entered yet')
  if (!equalConstantTime(grant.dpopJkt, proofJkt)) {
    return fail('DPOP_KEY_MISMATCH', 'the proof is not by the approved key')
  }
  return ok({ ...grant, state: { kind: 'redeemed', ...approvalOf(state), redeemedAtMs: now } })
}

/**
 * Stores the session about to be minted with a grant just redeemed (see `redemption-plan.ts`); any
 * other grant is returned as it is.
 *
 * @example
 * const next = withRedemptionPlan(redeemed, planRedemption(random, deviceCode).plan)
 */
export const withRedemptionPlan = (grant: DeviceGrant, plan: RedemptionPlan): DeviceGrant =>
  grant.state.kind === 'redeemed' ? { ...grant, state: { ...grant.state, mint: plan } } : grant

/**
 * Marks a pending or approved grant expired once its time is up. Errors: INVALID_TRANSITION when the
 * grant is not yet due, or already declined, redeemed or expired.
 *
 * @example
 * const dead = expireGrant(grant, now)
 */
export const expireGrant = (grant: DeviceGrant, now: number): Result<DeviceGrant, 'INVALID_TRANSITION'> => {
  const state = grant.state
  switch (state.kind) {
    case 'pending':
    case 'approved':
      if (!isGrantExpired(grant, now)) return fail('INVALID_TRANSITION', 'the grant has not expired yet')
      return ok({ ...grant, state: { kind: 'expired', atMs: now } })
    case 'declined':
    case 'redeemed':
    case 'expired':
      return fail('INVALID_TRANSITION', `the grant is already ${state.kind}`)
    default: {
      const unreachable: never = state
      return unreachable
    }
  }
}

/** The verdict of a code typed on the new device, or `not_required` when the grant asks for none. */
export type InitiationEntry = AttemptVerdict | 'not_required'

/**
 * The new device types the initiation code shown to the approver. A wrong code spends an attempt;
 * the last wrong one burns the challenge and declines the grant (the poll then says `access_denied`).
 * Only a key-matching caller may try (checked by the caller with the DPoP proof).
 *
 * @example
 * const { verdict, next } = enterInitiationCode(grant, '047261', now)
 */
export const enterInitiationCode = (grant: DeviceGrant, typed: string, now: number): { verdict: InitiationEntry; next: DeviceGrant } => {
  if (grant.initiation === undefined) return { verdict: 'not_required', next: grant }
  if (isGrantExpired(grant, now)) return { verdict: 'expired', next: grant }
  const { verdict, next } = attemptInitiationCode(grant.initiation, typed, now)
  if (next === grant.initiation) return { verdict, next: grant }
  const updated: DeviceGrant = { ...grant, initiation: next }
  if (next.state === 'burned' && (grant.state.kind === 'pending' || grant.state.kind === 'approved')) {
    return { verdict, next: { ...updated, state: { kind: 'declined', atMs: now } } }
  }
  return { verdict, next: updated }
}
