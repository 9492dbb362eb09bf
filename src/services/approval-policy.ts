/**
 * The approval policy slice (network lists, risk, proximity, approver trust, request-initiation
 * verification), resolved from the configuration once at startup.
 *
 * @see ./approvals.ts
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/
 */
import type { Config } from '../config.ts'
import type { NetworkLists } from '../core/policy/network-lists.ts'
import { DEFAULT_PROXIMITY, type ProximityConfig } from '../core/policy/proximity.ts'
import type { RiskConfig } from '../core/policy/risk.ts'
import type { TrustedDeviceRules } from '../core/policy/trusted-device.ts'
import { DEFAULT_INITIATION, type InitiationConfig } from '../core/policy/initiation.ts'

/** The policy slice, resolved at startup. */
export interface ApprovalPolicy {
  lists: NetworkLists
  risk: RiskConfig
  proximity: ProximityConfig
  approver: TrustedDeviceRules
  /** Request-initiation verification, when on. */
  initiation?: Pick<InitiationConfig, 'codeDigits' | 'maxAttempts' | 'codeTtlMs'>
  /** The code an approval of a typed user code always carries (the mode on or off); see `initiation-codes.ts`. */
  typedCodeInitiation?: Pick<InitiationConfig, 'codeDigits' | 'maxAttempts' | 'codeTtlMs'>
}

/** Builds the policy slice from the configuration. */
export const approvalPolicyOf = (policy: Config['policy'], network: Config['network']): ApprovalPolicy => ({
  lists: { trusted: policy.trustedNetworks, denied: policy.deniedNetworks },
  risk: {
    allowAtLeast: policy.proximityAllowAtLeast,
    farAction: policy.farAction,
    farInconsistencyAction: policy.farInconsistencyAction,
    inconsistentAction: policy.inconsistentAction,
  },
  proximity: {
    ...DEFAULT_PROXIMITY,
    ipv4PrefixBits: network.ipv4PrefixBits,
    ipv6PrefixBits: network.ipv6PrefixBits,
    nearKm: policy.proximityNearKm,
    farKm: policy.proximityFarKm,
  },
  approver: {
    minDeviceAgeMs: policy.approverMinAgeSeconds * 1000,
    maxAuthAgeMs: policy.approverMaxAuthAgeSeconds * 1000,
  },
  typedCodeInitiation: { ...DEFAULT_INITIATION, codeDigits: policy.initiationCodeDigits },
  ...(policy.requireInitiationCode ? { initiation: { ...DEFAULT_INITIATION, codeDigits: policy.initiationCodeDigits } } : {}),
})
