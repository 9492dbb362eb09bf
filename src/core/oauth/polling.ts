/**
 * The token endpoint's answer to a device-code poll (RFC 8628 §3.5), as a pure function of the grant
 * and `now`, returning the decision and the grant to store.
 *
 * `slow_down` done right: only a client that polls sooner than its interval is slowed, and then only
 * its own grant's interval grows (by 5 s, RFC 8628 §3.5, up to a cap). The first poll is never slowed,
 * and a compliant client (gaps ≥ interval, less a jitter allowance for timers and network delay) is
 * never slowed nor locked out. A poll with the wrong DPoP key is refused without touching the grant, so
 * a stranger cannot slow the real device down.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 */
import { equalConstantTime } from '../crypto/secrets.ts'
import { approvalOf, awaitsInitiationCode, isGrantExpired, redeemGrant, type DeviceGrant, type GrantApproval } from './device-grant.ts'
import { withinRedemptionGrace, type RedemptionPlan } from './redemption-plan.ts'

/** Tuning of the polling decision. */
export interface PollingConfig {
  /** Fraction of the interval a poll may come early and still count as on time. Default 0.1 (10 %). */
  jitterFraction: number
  /** Added to the grant's interval on each `slow_down`. Default 5 s (RFC 8628 §3.5). */
  slowDownStepSeconds: number
  /** The interval never grows past this. Default 60 s. */
  maxIntervalSeconds: number
}

/** Defaults of {@link PollingConfig}. */
export const DEFAULT_POLLING: Readonly<PollingConfig> = {
  jitterFraction: 0.1,
  slowDownStepSeconds: 5,
  maxIntervalSeconds: 60,
}

/**
 * The token endpoint's answer; the first five are RFC 8628 / RFC 6749 error codes. `issue`: mint for
 * the grant this poll redeems; `resume`: the grant was redeemed moments ago (within
 * `REDEMPTION_RETRY_GRACE_MS`) with a plan, by this key: complete or re-read that same session.
 */
export type PollDecision =
  | { kind: 'authorization_pending' }
  | { kind: 'slow_down'; intervalSeconds: number }
  | { kind: 'access_denied' }
  | { kind: 'expired_token' }
  | { kind: 'invalid_grant'; reason: 'already_redeemed' | 'wrong_key' }
  | { kind: 'issue'; approval: GrantApproval }
  | { kind: 'resume'; approval: GrantApproval; plan: RedemptionPlan }

/** A decision and the grant to store (the same object when nothing changed). */
export interface PollOutcome {
  decision: PollDecision
  next: DeviceGrant
}

/** True when a poll at `now` comes too soon after the previous one. */
export const isTooFast = (grant: DeviceGrant, now: number, config: PollingConfig = DEFAULT_POLLING): boolean => {
  if (grant.lastPollAtMs === undefined) return false
  // Rounded to whole ms so floating point never turns an on-time poll into an early one.
  const minGapMs = Math.round(grant.intervalSeconds * 1000 * (1 - config.jitterFraction))
  return now - grant.lastPollAtMs < minGapMs
}

/**
 * Decides one poll by a proof made with key `proofJkt`. Only a pending grant is ever slowed: an
 * approved one is issued (redeemed, once), a declined one is refused, an expired one says so.
 *
 * @example
 * const { decision, next } = decidePoll(grant, proof.jkt, now)
 * if (next !== grant) await grants.replaceIfMatch(grant.id, grant, next)
 */
export const decidePoll = (grant: DeviceGrant, proofJkt: string, now: number, config: PollingConfig = DEFAULT_POLLING): PollOutcome => {
  // A stranger's poll (another key) learns nothing and must not move lastPollAtMs or the interval.
  if (!equalConstantTime(grant.dpopJkt, proofJkt)) {
    return { decision: { kind: 'invalid_grant', reason: 'wrong_key' }, next: grant }
  }
  const state = grant.state
  switch (state.kind) {
    case 'redeemed': {
      // A retry of the redemption by the grant's own key (its answer lost, or a concurrent poll) resumes it.
      const { mint } = state
      if (mint !== undefined && withinRedemptionGrace(state.redeemedAtMs, now)) {
        return { decision: { kind: 'resume', approval: approvalOf(state), plan: mint }, next: grant }
      }
      return { decision: { kind: 'invalid_grant', reason: 'already_redeemed' }, next: grant }
    }
    case 'expired':
      return { decision: { kind: 'expired_token' }, next: grant }
    case 'declined':
      return { decision: { kind: 'access_denied' }, next: grant }
    case 'approved':
    case 'pending':
      break
    default: {
      const unreachable: never = state
      return unreachable
    }
  }
  if (isGrantExpired(grant, now)) {
    return { decision: { kind: 'expired_token' }, next: { ...grant, state: { kind: 'expired', atMs: now } } }
  }
  // Approved but its initiation code not yet typed on this device: still pending for the poller.
  if (state.kind === 'approved' && !awaitsInitiationCode(grant)) {
    const redeemed = redeemGrant(grant, proofJkt, now)
    // Unreachable after the checks above; kept so a future rule in redeemGrant cannot be bypassed.
    if (!redeemed.ok) return { decision: { kind: 'invalid_grant', reason: 'already_redeemed' }, next: grant }
    const decision: PollDecision = { kind: 'issue', approval: approvalOf(state) }
    return { decision, next: { ...redeemed.value, lastPollAtMs: now } }
  }
  if (isTooFast(grant, now, config)) {
    const intervalSeconds = Math.min(config.maxIntervalSeconds, grant.intervalSeconds + config.slowDownStepSeconds)
    return { decision: { kind: 'slow_down', intervalSeconds }, next: { ...grant, intervalSeconds, lastPollAtMs: now } }
  }
  return { decision: { kind: 'authorization_pending' }, next: { ...grant, lastPollAtMs: now } }
}
