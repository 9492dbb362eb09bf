/**
 * Rules on the approving device (BCP "trusted devices"): it must not be in quarantine (a session that
 * was itself minted by QR cannot approve the next one), it must be old enough (a device signed in a
 * minute ago proves little), and its user must have authenticated on it recently; otherwise the
 * approval needs the password again.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (trusted devices)
 */
import type { DeviceRecord } from '../accounts/records.ts'

/** Thresholds on the approver. */
export interface TrustedDeviceRules {
  /** The approving device must have existed at least this long. Default 15 minutes. */
  minDeviceAgeMs: number
  /** The user must have authenticated on the approver within this long, else the password is asked. Default 7 days. */
  maxAuthAgeMs: number
}

/** Defaults of {@link TrustedDeviceRules}. */
export const DEFAULT_TRUSTED_DEVICE: Readonly<TrustedDeviceRules> = {
  minDeviceAgeMs: 15 * 60 * 1000,
  maxAuthAgeMs: 7 * 24 * 60 * 60 * 1000,
}

/** What is known about the approver. */
export interface ApproverFacts {
  device: Pick<DeviceRecord, 'quarantineUntilMs' | 'createdAtMs'>
  /** Last time the user proved a credential (password, second factor) on this device. */
  lastAuthenticatedAtMs: number
}

/** One rule the approver breaks. `approver_auth_stale` is fixed by a step-up; the others refuse. */
export type ApproverProblem = 'approver_quarantined' | 'approver_too_new' | 'approver_auth_stale'

/** The evaluation: the problems found, in the order above (empty when the approver is trusted). */
export interface ApproverVerdict {
  trusted: boolean
  problems: ApproverProblem[]
}

/**
 * Checks the approver against the rules.
 *
 * @example
 * judgeApprover({ device, lastAuthenticatedAtMs }, DEFAULT_TRUSTED_DEVICE, now)
 * // { trusted: false, problems: ['approver_too_new'] }
 */
export const judgeApprover = (facts: ApproverFacts, rules: TrustedDeviceRules, now: number): ApproverVerdict => {
  const problems: ApproverProblem[] = []
  if (now < facts.device.quarantineUntilMs) problems.push('approver_quarantined')
  if (now - facts.device.createdAtMs < rules.minDeviceAgeMs) problems.push('approver_too_new')
  if (now - facts.lastAuthenticatedAtMs > rules.maxAuthAgeMs) problems.push('approver_auth_stale')
  return { trusted: problems.length === 0, problems }
}
