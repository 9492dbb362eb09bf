/** Second factors whose use must be atomic (MSC1997). Codes arrive hashed. */
export interface CredentialStore {
  /**
   * The TOTP replay guard: atomically records `step` as used and returns true only if it is greater
   * than every step used before for this account (false for an unknown account).
   */
  useTotpStep(accountId: string, step: number): Promise<boolean>
  /** Atomically replaces the whole set: every earlier code stops working. False for an unknown account. */
  replaceRecoveryCodes(accountId: string, codeHashes: readonly string[]): Promise<boolean>
  /** Atomically removes the code and returns true; of many concurrent callers at most one gets true. */
  consumeRecoveryCode(accountId: string, codeHash: string): Promise<boolean>
  /** How many unused recovery codes are left. */
  countRecoveryCodes(accountId: string): Promise<number>
}
