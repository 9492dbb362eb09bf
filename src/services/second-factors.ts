/**
 * Second factors (MSC1997): TOTP enrolment (pending until a first valid code), verification with the
 * ±1 step window and the store's replay guard, and recovery codes (shown once, stored hashed, single
 * use; using one is a security event for the user's other devices).
 *
 * TOTP keys, pending or confirmed, are stored sealed (`src/core/crypto/sealed-secret.ts`), bound to
 * the account: a key sealed under an older key of the keyring, or stored plain by an earlier release,
 * is re-sealed under the current key the next time it is used (or by {@link resealAll}).
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/issues/1997
 * @see https://www.rfc-editor.org/rfc/rfc6238
 */
import { authEpochOf, voidSignIns, type AccountRecord, type TotpEnrolment } from '../core/accounts/records.ts'
import { fail, ok, RelayError, type Result } from '../core/errors.ts'
import { generateRecoveryCodes, hashRecoveryCode } from '../core/auth/recovery-codes.ts'
import { newTotpSecret, totpSecretFromBase32, verifyTotp } from '../core/auth/totp.ts'
import { totpKeyUri } from '../core/auth/totp-key-uri.ts'
import { openSecret, sealSecret, type SealingKeyring } from '../core/crypto/sealed-secret.ts'
import { equalConstantTime } from '../core/crypto/secrets.ts'
import type { Clock, DurableStore, Random, SecurityEvents } from '../ports.ts'
import type { AccountsService } from './accounts.ts'

/** What the second-factors service needs. */
export interface SecondFactorsDeps {
  durable: DurableStore
  accounts: AccountsService
  clock: Clock
  random: Random
  events: SecurityEvents
  totpIssuer: string
  /** Seals TOTP keys at rest; its first key seals, the others only open. */
  keyring: SealingKeyring
}

/** A TOTP key being enrolled: shown once. */
export interface TotpEnrolmentOffer {
  /** Unpadded base32, what users may type into an app. */
  secret: string
  /** `otpauth://totp/…`, what the QR code holds. */
  uri: string
}

/** Second-factor use cases. */
export interface SecondFactorsService {
  /** True when the account has a confirmed TOTP key. */
  hasTotp(account: AccountRecord): boolean
  /**
   * Starts (or restarts) a pending enrolment, bound to `deviceId` (whose session stepped up for it), the
   * account's sign-in epoch and {@link PENDING_TOTP_TTL_MS}. Errors: INVALID_PARAM when TOTP is already enabled.
   */
  beginTotp(accountId: string, deviceId: string): Promise<TotpEnrolmentOffer>
  /**
   * Enables the pending key after a valid code, when `deviceId` began it, the account's epoch has not
   * moved since and it has not expired (finding 57); returns fresh recovery codes.
   * Errors: INVALID_PARAM, TOTP_INVALID, TOTP_REPLAYED.
   */
  confirmTotp(accountId: string, code: string, deviceId: string): Promise<readonly string[]>
  /**
   * Removes TOTP (and the recovery codes that went with it). With TOTP already off it wipes the codes a
   * removal cut before its wipe (or a raced regeneration) left stored, so a retry finishes the removal
   * (finding 58). Errors: INVALID_PARAM when TOTP is off and no code is stored.
   */
  disableTotp(accountId: string, deviceId: string): Promise<void>
  /**
   * How many recovery codes are stored while the account has no confirmed TOTP: left by a removal cut
   * before its wipe or a raced regeneration, inert, and wiped by {@link disableTotp}; 0 while TOTP is on.
   */
  leftoverRecoveryCodes(account: AccountRecord): Promise<number>
  /** Checks a TOTP code of an enrolled account, spending its step. */
  verifyTotp(account: AccountRecord, code: string): Promise<Result<true, 'TOTP_INVALID' | 'TOTP_REPLAYED'>>
  /**
   * Replaces every recovery code with 10 new ones (shown once). Errors: INVALID_PARAM when TOTP is not
   * confirmed, checked right before the write and again after it (finding 58).
   */
  regenerateRecoveryCodes(accountId: string, deviceId: string): Promise<readonly string[]>
  /** Spends a recovery code and tells the user's devices. */
  useRecoveryCode(account: AccountRecord, code: string): Promise<Result<true, 'RECOVERY_CODE_INVALID'>>
  /**
   * Re-seals the account's TOTP key under the current key when it is sealed under an older one or
   * stored plain; true when it wrote. Errors: INTERNAL when the stored key does not open.
   */
  resealTotp(accountId: string): Promise<boolean>
}

/** How long a pending enrolment can be confirmed: time to scan the code and type the first one. */
export const PENDING_TOTP_TTL_MS = 10 * 60_000

/**
 * True when `deviceId` may confirm the pending enrolment `totp` of `account` at `now`: it began it, the
 * account's sign-in epoch has not moved since (a password change that signed the others out, a
 * disable), and it is not over. An enrolment without `pending` (an earlier release's) is confirmed by no one.
 */
const mayConfirm = (account: AccountRecord, totp: TotpEnrolment, deviceId: string, now: number): boolean =>
  totp.pending !== undefined &&
  totp.pending.deviceId === deviceId &&
  totp.pending.authEpoch === authEpochOf(account) &&
  now < totp.pending.expiresAtMs

/** A legacy (pre-sealing) TOTP key: unpadded base32, as `TotpSecret.base32()` wrote it. */
const isPlainBase32 = (value: string): boolean => /^[A-Z2-7]{16,128}$/.test(value)

/**
 * Re-seals the TOTP keys of `accountIds` (after a key rotation, before the old key leaves the
 * keyring); returns how many were re-sealed and which accounts failed (their keys do not open).
 *
 * @example
 * const { resealed, failed } = await resealAll(auth.secondFactors, ids)
 */
export const resealAll = async (
  service: SecondFactorsService,
  accountIds: Iterable<string> | AsyncIterable<string>,
): Promise<{ resealed: number; failed: string[] }> => {
  let resealed = 0
  const failed: string[] = []
  for await (const id of accountIds) {
    try {
      if (await service.resealTotp(id)) resealed++
    } catch {
      // Not swallowed: the account is reported in `failed`, and one bad key must not stop the others.
      failed.push(id)
    }
  }
  return { resealed, failed }
}

/**
 * Builds the service.
 *
 * @example
 * const offer = await secondFactors.beginTotp(account.id)
 * const codes = await secondFactors.confirmTotp(account.id, '123456', deviceId)
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: factory: nine short methods sharing the stores, the keyring and the seal/open helpers of the TOTP key; none is over 25 lines
export const secondFactorsService = (deps: SecondFactorsDeps): SecondFactorsService => {
  const { durable, accounts, clock, random, events, keyring } = deps
  const hasTotp = (account: AccountRecord): boolean => account.totp?.confirmedAtMs !== undefined
  const contextOf = (accountId: string) => ({ accountId, purpose: 'totp' })
  const seal = (accountId: string, base32: string): string => sealSecret(keyring, base32, contextOf(accountId), random)

  /** Opens a stored key; a wrong key id, a tampered or moved value is refused (never logged). */
  const open = (accountId: string, stored: string): { base32: string; stale: boolean } => {
    const opened = openSecret(keyring, stored, contextOf(accountId), isPlainBase32)
    if (!opened.ok) throw new RelayError('INTERNAL', { detail: 'stored TOTP key does not open' })
    return { base32: opened.value.plaintext, stale: opened.value.stale }
  }

  /** Re-seals `stored` under the current key if it is still the account's key (a concurrent change wins). */
  const reseal = async (accountId: string, stored: string, base32: string): Promise<void> => {
    const next = seal(accountId, base32)
    await accounts.revise(accountId, (a) => (a.totp?.secret === stored ? { totp: { ...a.totp, secret: next } } : null))
  }

  const checkCode = async (accountId: string, storedText: string, code: string) => {
    const opened = open(accountId, storedText)
    const secret = totpSecretFromBase32(opened.base32)
    if (!secret.ok) throw new RelayError('INTERNAL', { detail: 'stored TOTP key is malformed' })
    // Safe to drop: the key still opens under its old id, and the next check tries the re-seal again.
    if (opened.stale) await reseal(accountId, storedText, opened.base32).catch(() => {})
    const checked = verifyTotp({ secret: secret.value, code, now: clock.now(), lastUsedStep: null })
    if (!checked.ok) return checked
    if (!(await durable.credentials.useTotpStep(accountId, checked.value))) {
      return fail('TOTP_REPLAYED', 'this code was already used')
    }
    return ok(true as const)
  }

  /**
   * Writes 10 new codes for the account's confirmed TOTP (finding 58). The store cannot make the write
   * conditional on the account, so TOTP is checked right before it and again after it: a removal that
   * committed in between (its wipe perhaps before this write) finds the codes wiped again and the call
   * refused. A removal committed after the second check wipes them itself, after this write.
   */
  const newCodes = async (accountId: string): Promise<readonly string[]> => {
    const before = await accounts.get(accountId)
    if (before === null) throw new RelayError('NOT_FOUND', { detail: 'no such account' })
    if (!hasTotp(before)) throw new RelayError('INVALID_PARAM', { detail: 'recovery codes go with TOTP: enable TOTP first' })
    const set = generateRecoveryCodes(random)
    if (!(await durable.credentials.replaceRecoveryCodes(accountId, set.hashes))) {
      throw new RelayError('NOT_FOUND', { detail: 'no such account' })
    }
    const after = await accounts.get(accountId)
    if (after === null || !hasTotp(after)) {
      await durable.credentials.replaceRecoveryCodes(accountId, [])
      throw new RelayError('INVALID_PARAM', { detail: 'TOTP was turned off meanwhile; recovery codes go with it' })
    }
    return set.codes()
  }

  return {
    hasTotp,
    async beginTotp(accountId, deviceId) {
      const secret = newTotpSecret(random)
      const account = await accounts.revise(accountId, (a) => {
        if (hasTotp(a)) throw new RelayError('INVALID_PARAM', { detail: 'TOTP is already enabled; disable it first' })
        // Bound to what authorised it (finding 57): this device, the credentials as they are, minutes.
        const pending = { deviceId, authEpoch: authEpochOf(a), expiresAtMs: clock.now() + PENDING_TOTP_TTL_MS }
        return { totp: { secret: seal(accountId, secret.base32()), pending } }
      })
      return { secret: secret.base32(), uri: totpKeyUri({ secret, issuer: deps.totpIssuer, account: account.username }) }
    },
    async confirmTotp(accountId, code, deviceId) {
      const account = await accounts.get(accountId)
      if (account?.totp === undefined) throw new RelayError('INVALID_PARAM', { detail: 'no TOTP enrolment is pending' })
      if (hasTotp(account)) throw new RelayError('INVALID_PARAM', { detail: 'TOTP is already enabled' })
      // Only the device that began it, under the same credentials, within its minutes (finding 57).
      if (!mayConfirm(account, account.totp, deviceId, clock.now())) {
        throw new RelayError('INVALID_PARAM', { detail: 'no TOTP enrolment of this device is pending; start again' })
      }
      const pending = account.totp.secret
      const checked = await checkCode(accountId, pending, code)
      if (!checked.ok) throw new RelayError(checked.code, { detail: checked.detail })
      const now = clock.now()
      // Confirmed sealed under the current key, whatever the pending one was sealed with (or not).
      const { base32 } = open(accountId, pending)
      const confirmed = seal(accountId, base32)
      // The factor and its event in one store step: a process killed after it loses neither.
      await accounts.revise(
        accountId,
        (a) => {
          const current = a.totp?.secret
          if (current === undefined || (current !== pending && !equalConstantTime(open(accountId, current).base32, base32))) {
            throw new RelayError('CONCURRENT_WRITE', { detail: 'the enrolment changed; start again' })
          }
          // The credentials changed (or the enrolment ran out) since the check above: refused in the step.
          if (a.totp === undefined || !mayConfirm(a, a.totp, deviceId, now)) {
            throw new RelayError('INVALID_PARAM', { detail: 'no TOTP enrolment of this device is pending; start again' })
          }
          // A password sign-in checked before, under "no second factor", no longer mints (finding 47).
          return { totp: { secret: confirmed, confirmedAtMs: now }, ...voidSignIns(a) }
        },
        { type: 'totp_enabled', atMs: now, deviceId },
      )
      return newCodes(accountId)
    },
    async disableTotp(accountId, deviceId) {
      // The factor's removal and its event in one store step (the owner hears of it whatever follows).
      // Codes left by a cut after it are refused by `useRecoveryCode` and offered by no flow while TOTP
      // is off, and a retry, finding TOTP off, wipes them (finding 58).
      let wasOff = false
      await accounts.revise(
        accountId,
        (a) => {
          wasOff = a.totp === undefined
          return wasOff ? null : { totp: undefined }
        },
        { type: 'totp_disabled', atMs: clock.now(), deviceId },
      )
      if (wasOff && (await durable.credentials.countRecoveryCodes(accountId)) === 0) {
        throw new RelayError('INVALID_PARAM', { detail: 'TOTP is not enabled' })
      }
      await durable.credentials.replaceRecoveryCodes(accountId, [])
    },
    async leftoverRecoveryCodes(account) {
      return hasTotp(account) ? 0 : durable.credentials.countRecoveryCodes(account.id)
    },
    async verifyTotp(account, code) {
      if (!hasTotp(account) || account.totp === undefined) return fail('TOTP_INVALID', 'TOTP is not enabled')
      return checkCode(account.id, account.totp.secret, code)
    },
    async regenerateRecoveryCodes(accountId, deviceId) {
      const codes = await newCodes(accountId)
      await events.emit(accountId, { type: 'recovery_codes_regenerated', atMs: clock.now(), deviceId })
      return codes
    },
    async useRecoveryCode(account, code) {
      // Codes go with TOTP: while it is off none is accepted or spent, whatever is stored (finding 58).
      if (!hasTotp(account)) return fail('RECOVERY_CODE_INVALID', 'recovery codes are off while TOTP is off')
      const hash = hashRecoveryCode(code)
      if (hash === null || !(await durable.credentials.consumeRecoveryCode(account.id, hash))) {
        return fail('RECOVERY_CODE_INVALID', 'unknown or used recovery code')
      }
      const left = await durable.credentials.countRecoveryCodes(account.id)
      await events.emit(account.id, { type: 'recovery_code_used', atMs: clock.now(), details: { codes_left: left } })
      return ok(true)
    },
    async resealTotp(accountId) {
      const stored = (await accounts.get(accountId))?.totp?.secret
      if (stored === undefined) return false
      const opened = open(accountId, stored)
      if (!opened.stale) return false
      await reseal(accountId, stored, opened.base32)
      return true
    },
  }
}
