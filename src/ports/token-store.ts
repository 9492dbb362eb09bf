import type { AccessTokenRecord, RefreshFamilyRecord } from '../core/accounts/records.ts'
import type { MintOutcome } from './mint-outcome.ts'

/** Input of {@link TokenStore.rotateRefresh}. */
export interface RotateRequest {
  familyId: string
  /** Hash of the secret part of the presented refresh token. */
  presentedHash: string
  /** Hash of the secret of the token that replaces it. */
  nextHash: string
  /** How long after a rotation the rotated-out token counts as a concurrent duplicate (0: never). */
  graceMs: number
}

/**
 * Outcome of {@link TokenStore.rotateRefresh} (decided by `judgeRefresh`):
 * - `rotated`: the presented token was current; `nextHash` is current now.
 * - `raced`: the token was rotated out less than `graceMs` ago by a concurrent request; nothing changes,
 *   nothing is revoked (the caller refuses this request; the winner's response carries the new token).
 * - `reused`: an earlier token was replayed; the family and its access tokens are now revoked.
 * - `revoked`: the family was already revoked. `denied`: the account is unusable or the device gone.
 * - `missing`: no such live family, or a token that never belonged to it (nothing changes).
 */
export type RotateOutcome = 'rotated' | 'raced' | 'reused' | 'revoked' | 'denied' | 'missing'

/** Result of {@link TokenStore.rotateRefresh}: the family as the intent left it (null when `missing`). */
export interface RotateResult {
  outcome: RotateOutcome
  family: RefreshFamilyRecord | null
}

/** Access tokens (minutes long, revocable at once) and rotating refresh-token families. */
export interface TokenStore {
  /**
   * Atomically stores an access token if its account is usable, its device exists and its family (if
   * any) is live and belongs to that device.
   */
  putAccess(token: AccessTokenRecord): Promise<MintOutcome>
  /** The token, or null when unknown, revoked or expired (exactly at `expiresAtMs`). */
  getAccess(id: string): Promise<AccessTokenRecord | null>
  /** Deletes one access token (RFC 7009); true when a live one was there. */
  revokeAccess(id: string): Promise<boolean>
  /** Atomically stores a new family if its account is usable and its device exists. */
  createRefreshFamily(family: RefreshFamilyRecord): Promise<MintOutcome>
  /** The family, revoked or not, or null when unknown or expired. */
  getRefreshFamily(familyId: string): Promise<RefreshFamilyRecord | null>
  /** Judges and applies one refresh attempt in one atomic step (see {@link RotateOutcome}). */
  rotateRefresh(request: RotateRequest): Promise<RotateResult>
  /** Revokes a family and the access tokens minted from it (RFC 7009); true when it was live. */
  revokeRefreshFamily(familyId: string): Promise<boolean>
}
