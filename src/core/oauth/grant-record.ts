/**
 * The RFC 8628 device authorization grant as stored: its record, its states, and the read-only
 * questions about it (expired? waiting for the initiation code?) and its log form. The transitions
 * are in `device-grant.ts`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628
 */
import type { InitiationChallenge } from '../policy/initiation.ts'
import type { NetworkSighting } from '../policy/proximity.ts'
import type { RedemptionPlan } from './redemption-plan.ts'

/** Who approved, and when. `deviceId` is the approving (existing) device. */
export interface GrantApproval {
  accountId: string
  deviceId: string
  atMs: number
  /**
   * The account's `authEpoch` when the approval was given: the session mint is refused once the
   * account's has moved past it (a password change that signs other devices out, finding 47).
   * Absent on grants approved before it was recorded: 0.
   */
  authEpoch?: number
}

/**
 * The approval of an approved or redeemed grant's state, without the state's other fields.
 *
 * @example
 * const approval = approvalOf(grant.state) // grant.state.kind === 'approved'
 */
export const approvalOf = ({ accountId, deviceId, atMs, authEpoch }: GrantApproval): GrantApproval => ({
  accountId,
  deviceId,
  atMs,
  ...(authEpoch === undefined ? {} : { authEpoch }),
})

/** A redemption: the approval, when it was redeemed, and the session it mints. */
interface Redemption extends GrantApproval {
  redeemedAtMs: number
  /** The session being minted (`redemption-plan.ts`); absent on grants redeemed before plans existed. */
  mint?: RedemptionPlan
}

/** The life of a grant; lowercase tags, exhaustively switched. */
export type GrantState =
  | { kind: 'pending' }
  | ({ kind: 'approved' } & GrantApproval)
  | { kind: 'declined'; atMs: number }
  | ({ kind: 'redeemed' } & Redemption)
  | { kind: 'expired'; atMs: number }

/** A device authorization grant as stored. Codes are kept only as SHA-256 hashes. */
export interface DeviceGrant {
  id: string
  deviceCodeHash: string
  userCodeHash: string
  clientId?: string
  scope: string
  /** RFC 7638 thumbprint of the new device's DPoP key: only proofs by this key redeem the grant. */
  dpopJkt: string
  /** The channel binding the new device derived (see `channel-binding.ts`). */
  channelBinding: string
  requestedDeviceName?: string
  createdAtMs: number
  expiresAtMs: number
  /** Current polling interval; grows by 5 s on each `slow_down` (see `polling.ts`). */
  intervalSeconds: number
  lastPollAtMs?: number
  /** Networks the new device was seen from (channel creation, device authorization, polls). */
  networks: NetworkSighting[]
  state: GrantState
  /**
   * Request-initiation verification: a code shown to the approver that must be typed on the new
   * device before an approved grant can be redeemed (see `policy/initiation.ts`).
   */
  initiation?: InitiationChallenge
}

/** True while an approved grant still waits for its initiation code to be typed on the new device. */
export const awaitsInitiationCode = (grant: DeviceGrant): boolean => grant.initiation !== undefined && grant.initiation.state !== 'verified'

/** True once `now` reaches the grant's expiry, whatever its state. */
export const isGrantExpired = (grant: DeviceGrant, now: number): boolean => now >= grant.expiresAtMs

/** The grant without codes, binding or addresses, for logs. */
export const grantForLog = (
  grant: DeviceGrant,
): Pick<DeviceGrant, 'id' | 'clientId' | 'scope' | 'createdAtMs' | 'expiresAtMs' | 'intervalSeconds'> & {
  state: GrantState['kind']
} => ({
  id: grant.id,
  clientId: grant.clientId,
  scope: grant.scope,
  createdAtMs: grant.createdAtMs,
  expiresAtMs: grant.expiresAtMs,
  intervalSeconds: grant.intervalSeconds,
  state: grant.state.kind,
})
