/**
 * Approving or declining a QR login from the existing device: the binding and key checks, the policy
 * (network lists, abuse deny, the approver's trust, proximity → allow / step up / deny), the step-up
 * itself (handed to the caller as a callback so this service knows no HTTP), and the one
 * compare-and-swap that moves the grant out of `pending`, so of two racing approvals one wins.
 *
 * A decline, and a policy deny, *burn* the grant (declined): the new device's poll then gets
 * `access_denied`, and a relayed code cannot be approved later by a second try. Burning needs the
 * same proof as approving (the channel binding and the key thumbprint the approver got over the
 * channel): a decline or approval without it (a wrong binding or key) only hides the request from
 * that account, so anybody who merely read a user code cannot burn someone else's login.
 *
 * A *typed* user code (`binding: 'typed_code'`, the `/device` page) has no channel to prove: its
 * approval always carries a request-initiation code for the new device (`initiation-codes.ts`), and
 * its decline burns, since the account found the code under the user-code guard's limits.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.3
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/
 * @see SECURITY.md (the BCP mitigations: request binding, unique values); docs/qr-login.md
 */
import { authEpochOf } from '../core/accounts/records.ts'
import type { UiaStage } from '../core/auth/uia.ts'
import { RelayError } from '../core/errors.ts'
import { approveGrant, declineGrant, recordSighting, type DeviceGrant } from '../core/oauth/device-grant.ts'
import { judgeNetworkLists } from '../core/policy/network-lists.ts'
import { judgeProximity, type NetworkSighting } from '../core/policy/proximity.ts'
import { decideRisk, type RiskAction } from '../core/policy/risk.ts'
import { judgeApprover } from '../core/policy/trusted-device.ts'
import type { Clock, DurableStore, KvStore, Random } from '../ports.ts'
import { equalConstantTime } from '../core/crypto/secrets.ts'
import type { ApprovalPolicy } from './approval-policy.ts'
import { authRecency, type AuthRecency } from './auth-recency.ts'
import type { DeviceGrantsService, StoredGrant } from './device-grants.ts'
import { type ApprovalBinding, initiationFor } from './initiation-codes.ts'
import type { SecondFactorsService } from './second-factors.ts'

export { approvalPolicyOf, type ApprovalPolicy } from './approval-policy.ts'

/** The abuse side the approval consults and feeds (see `abuse-guard.ts`); optional. */
export interface ApprovalAbuse {
  /** True while the address is under an automatic or "not me" deny (with `accountId`: that account's too). */
  isDenied(ip: string, accountId?: string): Promise<boolean>
  /**
   * Counts a declined approval against the new device's address, once per declining account and
   * window; an ASN source with `from`, the address it stands for (see `AbuseGuard.record`).
   */
  record(ip: string, signal: 'declined_approval', onceFor?: string, from?: string): Promise<void>
}

/** What ties an approval to the new device: the channel's proof, or nothing but a typed code. */
export type ApprovalProof =
  | {
      /** Default 'channel'. */
      binding?: Exclude<ApprovalBinding, 'typed_code'>
      /** What the approver derived / received over the channel. */
      channelBinding: string
      dpopJkt: string
    }
  /** No channel to prove (the `/device` page); see the file's comment. */
  | { binding: 'typed_code' }

/** One approval attempt. */
export type ApprovalRequest = ApprovalProof & ApprovalAttempt

/** The part of an approval attempt that does not depend on its proof. */
export interface ApprovalAttempt {
  stored: StoredGrant
  approver: { accountId: string; deviceId: string }
  decision: 'approve' | 'decline'
  /** Where the approval comes from. */
  sighting: NetworkSighting
  /**
   * Where the new device created the channel, from the signed ticket of the QR code the approver
   * scanned (login intent only: the approver vouches for it, the new device cannot forge it).
   */
  newDeviceCreation?: NetworkSighting
  /**
   * Runs the step-up the policy asks for (UIA with these flows); resolves once complete, throws the
   * 401 challenge while stages remain.
   */
  stepUp(flows: UiaStage[][]): Promise<void>
}

/** What happened. */
export interface ApprovalOutcome {
  status: 'approved' | 'declined'
  grant: DeviceGrant
  /** Request-initiation verification: the code to show the approver, to be typed on the new device. */
  verificationCode?: string
  /** The policy's view, for the response and the logs (never secrets). */
  risk?: RiskAction
}

/** The approval service. */
export interface ApprovalsService {
  /**
   * Decides one approval. Errors: NOT_FOUND (grant gone), INVALID_TRANSITION (already decided),
   * GRANT_EXPIRED, CHANNEL_BINDING_MISMATCH and DPOP_KEY_MISMATCH (grant burnt), POLICY_DENIED with
   * `reason` (grant burnt), FORBIDDEN (approving device gone), the UIA challenge while stepping up.
   */
  decide(request: ApprovalRequest): Promise<ApprovalOutcome>
  /** Records that the user proved a credential on this device now (a completed step-up, a login). */
  markAuthenticated(accountId: string, deviceId: string): Promise<void>
  /** True when this account hid the grant (an unproven decline or approval): it is NOT_FOUND to it. */
  isHidden(accountId: string, grantId: string): Promise<boolean>
}

const MAX_CAS_TRIES = 8
const hiddenKey = (accountId: string, grantId: string): string => `approval-hidden:${accountId}:${grantId}`

/** True when the approver sent the binding and key of this grant (both compared, in constant time). */
const provesChannel = (grant: DeviceGrant, request: { channelBinding: string; dpopJkt: string }): boolean => {
  const bindingOk = equalConstantTime(grant.channelBinding, request.channelBinding)
  const keyOk = equalConstantTime(grant.dpopJkt, request.dpopJkt)
  return bindingOk && keyOk
}

/**
 * Builds the service.
 *
 * @example
 * const approvals = approvalsService({ grants, durable, clock, secondFactors, policy })
 * await approvals.decide({ stored, approver, decision: 'approve', channelBinding, dpopJkt, sighting, stepUp })
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: a factory of five short helpers and the service's methods, sharing the stores and the policy
export const approvalsService = (deps: {
  grants: DeviceGrantsService
  durable: DurableStore
  /** Holds the per-account "hidden" marks of unproven declines. */
  kv: KvStore
  clock: Clock
  random: Random
  secondFactors: SecondFactorsService
  policy: ApprovalPolicy
  abuse?: ApprovalAbuse
  /** Shared with the other-device actions; default: over the durable store's security state. */
  recency?: AuthRecency
}): ApprovalsService => {
  const { grants, durable, kv, clock, policy } = deps
  const recency = deps.recency ?? authRecency({ security: durable.security, clock })

  /** Applies a pure transition with compare-and-swap, re-reading after a concurrent poll moved the record. */
  const transition = async (
    stored: StoredGrant,
    step: (grant: DeviceGrant) => { ok: true; value: DeviceGrant } | { ok: false; code: RelayError['code']; detail?: string },
  ): Promise<DeviceGrant> => {
    let current: StoredGrant | null = stored
    for (let attempt = 0; attempt < MAX_CAS_TRIES && current !== null; attempt++) {
      const next = step(current.grant)
      if (!next.ok) throw new RelayError(next.code, next.detail === undefined ? {} : { detail: next.detail })
      const saved = await grants.replace(current, next.value)
      if (saved !== null) return saved.grant
      current = await grants.findById(stored.grant.id)
    }
    if (current === null) throw new RelayError('NOT_FOUND', { detail: 'unknown or expired code' })
    throw new RelayError('INVALID_TRANSITION', { detail: 'the request changed concurrently; try again' })
  }

  const burn = async (stored: StoredGrant, accountId: string): Promise<void> => {
    try {
      await transition(stored, (grant) => declineGrant(grant, clock.now()))
    } catch (error) {
      // Already decided or gone: nothing left to burn. Anything else (a store that cannot be reached)
      // is thrown on: the answer is a 503 and the owner's retry burns it (finding 85).
      if (!(error instanceof RelayError) || error.code === 'UNAVAILABLE') throw error
    }
    await countDeclined(stored.grant, accountId)
  }

  /**
   * Counts a declined or burnt login against the new device's first network and its ASN, once per
   * declining account and window: one account declining its own logins cannot block a shared network.
   */
  const countDeclined = async (grant: DeviceGrant, accountId: string): Promise<void> => {
    const first = grant.networks[0]
    for (const source of [first?.ip, first?.asn === undefined ? undefined : `asn:${first.asn}`]) {
      // A counter that fails to count must not fail the decision the user already made.
      const from = source === first?.ip ? undefined : first?.ip
      if (source !== undefined) await deps.abuse?.record(source, 'declined_approval', accountId, from).catch(() => {})
    }
  }

  const isAbuseDenied = async (sightings: readonly NetworkSighting[], accountId: string): Promise<boolean> => {
    if (deps.abuse === undefined) return false
    const sources = new Set(
      sightings.flatMap((s) => [...(s.ip === undefined ? [] : [s.ip]), ...(s.asn === undefined ? [] : [`asn:${s.asn}`])]),
    )
    for (const source of sources) if (await deps.abuse.isDenied(source, accountId)) return true
    return false
  }

  /** Hides the grant from this account only (an unproven decline or approval): nothing else changes. */
  const hide = async (accountId: string, grant: DeviceGrant): Promise<void> => {
    await kv.put(hiddenKey(accountId, grant.id), '1', Math.max(1, grant.expiresAtMs - clock.now()))
  }

  // An object of a few methods sharing the closures above; each method stays short on its own.
  const service: ApprovalsService = {
    async markAuthenticated(accountId, deviceId) {
      await recency.mark(accountId, deviceId)
    },

    async isHidden(accountId, grantId) {
      return (await kv.get(hiddenKey(accountId, grantId))) !== null
    },

    async decide(request) {
      const { stored, approver } = request
      const now = clock.now()
      if (await service.isHidden(approver.accountId, stored.grant.id))
        throw new RelayError('NOT_FOUND', { detail: 'unknown or expired code' })
      const typed = request.binding === 'typed_code'
      // A typed code proves nothing about a channel: the grant's own values stand in for the approver's.
      const proof = (g: DeviceGrant) =>
        request.binding === 'typed_code'
          ? { channelBinding: g.channelBinding, dpopJkt: g.dpopJkt }
          : { channelBinding: request.channelBinding, dpopJkt: request.dpopJkt }
      if (request.decision === 'decline') {
        // Without the channel's proof, a decline is this account's "not for me": hide, do not burn.
        if (request.binding !== 'typed_code' && !provesChannel(stored.grant, request)) {
          await hide(approver.accountId, stored.grant)
          return { status: 'declined', grant: stored.grant }
        }
        const grant = await transition(stored, (g) => declineGrant(g, clock.now()))
        await countDeclined(grant, approver.accountId)
        return { status: 'declined', grant }
      }

      // The channel checks first: a mismatch means someone sits between the devices, or a stranger
      // typed a user code they read: refuse and hide it from this account, but do not burn it.
      const checked = approveGrant(stored.grant, { ...approver, ...proof(stored.grant) }, now)
      if (!checked.ok) {
        if (checked.code === 'CHANNEL_BINDING_MISMATCH' || checked.code === 'DPOP_KEY_MISMATCH')
          await hide(approver.accountId, stored.grant)
        throw new RelayError(checked.code, checked.detail === undefined ? {} : { detail: checked.detail })
      }

      const device = await durable.devices.get(approver.accountId, approver.deviceId)
      const account = await durable.accounts.get(approver.accountId)
      if (device === null || account === null) throw new RelayError('FORBIDDEN', { detail: 'the approving device is signed out' })
      const approverSightings = [request.sighting]
      const newDeviceSightings =
        request.newDeviceCreation === undefined ? stored.grant.networks : [request.newDeviceCreation, ...stored.grant.networks]
      const risk = decideRisk(
        {
          networkLists: judgeNetworkLists(policy.lists, newDeviceSightings, approverSightings),
          abuseDenied: await isAbuseDenied([...newDeviceSightings, request.sighting], account.id),
          approver: judgeApprover(
            { device, lastAuthenticatedAtMs: await recency.lastAuthenticatedAt(device, 'credential') },
            policy.approver,
            now,
          ),
          proximity: judgeProximity(newDeviceSightings, approverSightings, policy.proximity),
          // Codes count only with the TOTP they came with (finding 58): none are read while it is off.
          factors: {
            totpEnrolled: deps.secondFactors.hasTotp(account),
            recoveryCodesLeft: deps.secondFactors.hasTotp(account) ? await durable.credentials.countRecoveryCodes(account.id) : 0,
          },
        },
        policy.risk,
      )
      if (risk.action === 'deny') {
        // The approver's own state (quarantine, too new) is not the new device's fault: refuse
        // without burning, so a trusted device can still approve this code.
        const approverProblem = risk.reason === 'approver_quarantined' || risk.reason === 'approver_too_new'
        if (!approverProblem) await burn(stored, account.id)
        throw new RelayError('POLICY_DENIED', { detail: DENY_TEXT[risk.reason], reason: risk.reason })
      }
      if (risk.action === 'step_up') {
        await request.stepUp(risk.flows)
        await service.markAuthenticated(account.id, device.id)
      }
      // The initiation code lives only as long as the grant and is shown once, to this approver.
      const initiation = initiationFor(policy, typed ? 'typed_code' : 'channel', stored.grant, deps.random, clock.now())
      // The account's sign-in epoch goes with the approval: a password change that signs the other
      // devices out before the redemption voids it (finding 47).
      const grant = await transition(stored, (g) => {
        const next = approveGrant(g, { ...approver, ...proof(g), authEpoch: authEpochOf(account) }, clock.now())
        if (!next.ok) return next
        let value = request.newDeviceCreation === undefined ? next.value : recordSighting(next.value, request.newDeviceCreation)
        if (initiation !== undefined) value = { ...value, initiation: initiation.challenge }
        return { ok: true, value }
      })
      return { status: 'approved', grant, risk, ...(initiation === undefined ? {} : { verificationCode: initiation.code }) }
    },
  }
  return service
}

/** What a person is told for each refusal (the stable code travels as `reason`). */
const DENY_TEXT: Record<Exclude<RiskAction, { action: 'allow' | 'step_up' }>['reason'], string> = {
  network_denied: 'sign-ins from this network are not allowed',
  abuse_blocked: 'this network is temporarily blocked after suspicious activity',
  approver_quarantined: 'this device was signed in by QR recently and cannot approve other sign-ins yet',
  approver_too_new: 'this device was signed in too recently to approve other sign-ins',
  far_away: 'the two devices are far apart: approve only a device you are holding',
  networks_inconsistent: 'the new device was seen from several distant networks (a relayed QR code?)',
  proximity_unverified: 'the two devices could not be shown to be near each other',
  approver_auth_stale: 'sign in again on this device first',
}
