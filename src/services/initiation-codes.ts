/**
 * Which request-initiation code an approval carries. A QR approval carries one only when the operator
 * turned the mode on (`QRELAY_INITIATION_VERIFY_CODE`); an approval of a *typed* user code (`/device`)
 * always carries one, because nothing else ties that approver to the device showing the code: no
 * channel, no check code, no binding. The code is shown once, on the approving page, and the new
 * device must submit it (`POST /v1/device-verification`, DPoP-signed by the grant's key) before the
 * token endpoint issues anything. It is stored salted and hashed, compared in constant time, and a few
 * wrong entries burn the grant (see `core/policy/initiation.ts`).
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (request-initiation verification)
 * @see ../../SECURITY.md ("What a typed code cannot prove")
 */
import type { DeviceGrant } from '../core/oauth/device-grant.ts'
import {
  createInitiationChallenge,
  DEFAULT_INITIATION,
  type InitiationChallenge,
  type InitiationConfig,
} from '../core/policy/initiation.ts'
import type { Random } from '../ports.ts'
import type { ApprovalPolicy } from './approval-policy.ts'

/** How an approval is tied to the new device: its channel (QR), or only a user code someone typed. */
export type ApprovalBinding = 'channel' | 'typed_code'

/** The code's shape when the operator did not turn the mode on: the defaults (6 digits, 5 tries). */
const TYPED_CODE_INITIATION: Pick<InitiationConfig, 'codeDigits' | 'maxAttempts' | 'codeTtlMs'> = {
  codeDigits: DEFAULT_INITIATION.codeDigits,
  maxAttempts: DEFAULT_INITIATION.maxAttempts,
  codeTtlMs: DEFAULT_INITIATION.codeTtlMs,
}

/**
 * The initiation code an approval must carry, or undefined when none is asked for. It lives as long
 * as the grant does (a code outliving its grant would be useless; one dying earlier would strand it).
 *
 * @example
 * const issued = initiationFor(policy, 'typed_code', stored.grant, random, clock.now())
 * if (issued !== undefined) grant = { ...grant, initiation: issued.challenge } // show issued.code once
 */
export const initiationFor = (
  policy: Pick<ApprovalPolicy, 'initiation' | 'typedCodeInitiation'>,
  binding: ApprovalBinding,
  grant: Pick<DeviceGrant, 'expiresAtMs'>,
  random: Random,
  now: number,
): { code: string; challenge: InitiationChallenge } | undefined => {
  const config = binding === 'typed_code' ? (policy.initiation ?? policy.typedCodeInitiation ?? TYPED_CODE_INITIATION) : policy.initiation
  if (config === undefined) return undefined
  return createInitiationChallenge(random, now, { ...config, codeTtlMs: Math.max(1, grant.expiresAtMs - now) })
}
