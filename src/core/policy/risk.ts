/**
 * Risk → action: the one place that turns the policy verdicts of an approval (network lists, abuse,
 * the approver's state, proximity) into `allow`, `step_up` (with the UIA flows the server should ask
 * for) or `deny` (with a stable reason code). Refusals are checked first, so a step-up never rescues a
 * denied approval.
 *
 * Step-up flows: a proximity doubt asks for a second factor (TOTP or a recovery code, whichever the
 * account has; the password when it has neither); a stale approver session asks for the password
 * first. The flows use the Matrix stage names, ready for `startSession`/`updateFlows` in `auth/uia.ts`.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/1997 (second-factor stages)
 */
import type { UiaStage } from '../auth/uia.ts'
import type { NetworkListsVerdict } from './network-lists.ts'
import { RELATION_STRENGTH, type ProximityRelation, type ProximityVerdict } from './proximity.ts'
import type { ApproverVerdict } from './trusted-device.ts'

/** Stable reason codes (they reach logs, events and the client's `error`). */
export type RiskReason =
  | 'network_denied'
  | 'abuse_blocked'
  | 'approver_quarantined'
  | 'approver_too_new'
  | 'far_away'
  | 'networks_inconsistent'
  | 'proximity_unverified'
  | 'approver_auth_stale'

/** What to do with the approval. */
export type RiskAction =
  | { action: 'allow' }
  | { action: 'step_up'; reasons: RiskReason[]; flows: UiaStage[][] }
  | { action: 'deny'; reason: RiskReason }

/** What a doubt costs. */
export type DoubtAction = 'allow' | 'step_up' | 'deny'

/** The risk policy. */
export interface RiskConfig {
  /**
   * Weakest relation that passes without a step-up. Default `nearby` (same metro area). `same_asn`
   * ranks below `regional`: an ASN match alone passes only when this is `unknown` (no proximity check).
   */
  allowAtLeast: Exclude<ProximityRelation, 'same_asn' | 'far'>
  /** When the devices are geographically far apart (`far`). Default `deny`. */
  farAction: DoubtAction
  /** When the new device's own sightings are far apart (a relayed QR code). Default `deny`. */
  farInconsistencyAction: DoubtAction
  /** When the new device's own sightings disagree otherwise (e.g. dual stack without ASN data). Default `step_up`. */
  inconsistentAction: DoubtAction
}

/** Defaults of {@link RiskConfig}. */
export const DEFAULT_RISK: Readonly<RiskConfig> = {
  allowAtLeast: 'nearby',
  farAction: 'deny',
  farInconsistencyAction: 'deny',
  inconsistentAction: 'step_up',
}

/** The second factors the approving account holds. */
export interface AccountFactors {
  totpEnrolled: boolean
  recoveryCodesLeft: number
}

/** Everything the decision looks at. */
export interface RiskInput {
  networkLists: NetworkListsVerdict
  /** True when the abuse counters deny the new device's or the approver's source. */
  abuseDenied: boolean
  approver: ApproverVerdict
  proximity: ProximityVerdict
  factors: AccountFactors
}

/** The UIA flows that answer `reasons`: lists of stage names, one list per flow. */
export const stepUpFlows = (reasons: readonly RiskReason[], factors: AccountFactors): UiaStage[][] => {
  const stale = reasons.includes('approver_auth_stale')
  const doubt = reasons.some((r) => r !== 'approver_auth_stale')
  const seconds: UiaStage[] = []
  if (doubt && factors.totpEnrolled) seconds.push('m.login.2fa.totp')
  // Recovery codes stand in for the TOTP they came with, never for the password: none count while
  // TOTP is off, whatever codes a cut removal or a raced regeneration left stored (finding 58).
  if (doubt && factors.totpEnrolled && factors.recoveryCodesLeft > 0) seconds.push('m.login.2fa.recovery')
  // Without a second factor the password is the only thing left to ask for.
  const password: UiaStage[] = stale || (doubt && seconds.length === 0) ? ['m.login.password'] : []
  if (seconds.length === 0) return [password]
  return seconds.map((stage) => [...password, stage])
}

/**
 * Decides an approval.
 *
 * @example
 * const risk = decideRisk({ networkLists, abuseDenied, approver, proximity, factors }, DEFAULT_RISK)
 * if (risk.action === 'deny') throw new RelayError('POLICY_DENIED', { detail: risk.reason })
 * if (risk.action === 'step_up') session = updateFlows(session, risk.flows.map((stages) => ({ stages })), params)
 */
export const decideRisk = (input: RiskInput, config: RiskConfig = DEFAULT_RISK): RiskAction => {
  if (input.networkLists.denied) return { action: 'deny', reason: 'network_denied' }
  if (input.abuseDenied) return { action: 'deny', reason: 'abuse_blocked' }
  for (const problem of ['approver_quarantined', 'approver_too_new'] as const) {
    if (input.approver.problems.includes(problem)) return { action: 'deny', reason: problem }
  }
  const doubts: Array<[RiskReason, DoubtAction]> = []
  if (!input.networkLists.trusted) {
    const { proximity } = input
    if (proximity.disagreements.some((d) => d.relation === 'far')) {
      doubts.push(['networks_inconsistent', config.farInconsistencyAction])
    } else if (proximity.inconsistent) {
      doubts.push(['networks_inconsistent', config.inconsistentAction])
    }
    if (proximity.relation === 'far') doubts.push(['far_away', config.farAction])
    else if (RELATION_STRENGTH[proximity.relation] < RELATION_STRENGTH[config.allowAtLeast]) {
      doubts.push(['proximity_unverified', 'step_up'])
    }
  }
  const denied = doubts.find(([, action]) => action === 'deny')
  if (denied !== undefined) return { action: 'deny', reason: denied[0] }
  const reasons = doubts.filter(([, action]) => action === 'step_up').map(([reason]) => reason)
  if (input.approver.problems.includes('approver_auth_stale')) reasons.push('approver_auth_stale')
  if (reasons.length === 0) return { action: 'allow' }
  return { action: 'step_up', reasons, flows: stepUpFlows(reasons, input.factors) }
}
