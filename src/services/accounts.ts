/**
 * Account use cases: create (operator, admin endpoint or open registration), check a password (with
 * a dummy argon2id run for unknown names, so timing does not tell which names exist, and a transparent
 * rehash when the configured cost changed), change the password (MSC2457 `logout_devices`), disable.
 */
import { dropPendingTotp, reviseAccount, voidSignIns, type AccountRecord } from '../core/accounts/records.ts'
import { newOpaqueId } from '../core/crypto/secrets.ts'
import { fail, ok, RelayError, type Result } from '../core/errors.ts'
import { hashPasswordAsync, needsRehash, verifyPasswordAsync, type Argon2Params } from '../core/auth/password-hash.ts'
import { checkPasswordAgainst, DEFAULT_PASSWORD_POLICY, type CommonPasswords, type PasswordPolicy } from '../core/auth/password-rules.ts'
import type { Clock, DurableStore, Random, SecurityEvent, SecurityEvents } from '../ports.ts'
import { signOutReport } from './step-report.ts'

/** What the accounts service needs. */
export interface AccountsDeps {
  durable: DurableStore
  clock: Clock
  random: Random
  argon2: Argon2Params
  passwordPolicy?: PasswordPolicy
  /** The common passwords a new password must not be (the built-in list: `core/auth/common-passwords.ts`). */
  commonPasswords: CommonPasswords
  events: SecurityEvents
}

/** Account use cases. */
export interface AccountsService {
  /** Creates an active account. Errors: INVALID_PARAM (username), PASSWORD_TOO_WEAK, USER_IN_USE. */
  create(username: string, password: string): Promise<AccountRecord>
  /** Refuses a username or password `create` would refuse, without touching anything. Errors: INVALID_PARAM, PASSWORD_TOO_WEAK. */
  assertCreatable(username: string, password: string): void
  /** Refuses a new password the policy refuses. Errors: PASSWORD_TOO_WEAK. */
  assertStrong(password: string, username: string): void
  /** The account named `username` (any case), or null. */
  findByUsername(username: string): Promise<AccountRecord | null>
  /** The account, or null. */
  get(id: string): Promise<AccountRecord | null>
  /**
   * Checks a password in the same time whether or not the account exists; rehashes on success when the
   * stored cost differs from the configured one. Errors: INVALID_CREDENTIALS.
   */
  checkPassword(account: AccountRecord | null, password: string): Promise<Result<true, 'INVALID_CREDENTIALS'>>
  /**
   * Sets a new password; with `logoutDevices` every device but `keepDeviceId` is signed out at once,
   * and every sign-in authorised before and not yet minted is voided (`voidSignIns`, finding 47).
   * The new hash, the sign-out and the `password_changed` event are one store step
   * (`AccountStore.updateAndSignOut`). Returns how many devices were signed out.
   * Errors: PASSWORD_TOO_WEAK, NOT_FOUND, CONCURRENT_WRITE.
   */
  changePassword(
    accountId: string,
    newPassword: string,
    keepDeviceId: string | null,
    logoutDevices: boolean,
    details?: Readonly<Record<string, string | number | boolean>>,
  ): Promise<number>
  /**
   * Applies `change` by compare-and-swap, retrying a few times. With `event`, the event is appended to
   * the account's feed in the same store step (`AccountStore.updateAndSignOut`) and told to the sinks
   * after it; nothing is reported when `change` answers null (no change). Errors: NOT_FOUND,
   * CONCURRENT_WRITE.
   */
  revise(
    accountId: string,
    change: (account: AccountRecord) => Partial<AccountRecord> | null,
    event?: SecurityEvent,
  ): Promise<AccountRecord>
  /**
   * Disables the account and signs out every device (voiding the sign-ins not yet minted), with `event`
   * (when given) in the same store step.
   * Errors: NOT_FOUND.
   */
  disable(username: string, event?: SecurityEvent): Promise<AccountRecord>
}

/** Usernames: 1–64 of letters, digits and `._=-` (the Matrix localpart alphabet, any case). */
export const USERNAME = /^[A-Za-z0-9._=-]{1,64}$/

const UPDATE_ATTEMPTS = 4

/**
 * Builds the accounts service.
 *
 * @example
 * const accounts = accountsService({ durable, clock, random, argon2, commonPasswords: COMMON_PASSWORDS, events })
 * await accounts.create('alice', 'a long passphrase')
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: factory: nine short methods sharing the stores, the password policy and the lazily hashed dummy; none is over 25 lines
export const accountsService = (deps: AccountsDeps): AccountsService => {
  const { durable, clock, random, argon2 } = deps
  const policy = deps.passwordPolicy ?? DEFAULT_PASSWORD_POLICY
  // Hashed once, lazily, at the configured cost: verifying against it costs what a real check costs.
  let dummy: Promise<string> | undefined
  const dummyHash = (): Promise<string> => (dummy ??= hashPasswordAsync(random, newOpaqueId(random), argon2))

  const requireStrong = (password: string, username: string): void => {
    const checked = checkPasswordAgainst(password, deps.commonPasswords, { username, policy })
    if (!checked.ok) throw new RelayError('PASSWORD_TOO_WEAK', { detail: checked.detail })
  }

  /**
   * `change` by compare-and-swap, retried a few times; with a sign-out or an event, both go in the same
   * store step (`AccountStore.updateAndSignOut`), then the sinks hear the event (`stored`: the feed
   * holds it already; `emit` where the events have no feed). A null change writes and reports nothing.
   * Errors: NOT_FOUND, CONCURRENT_WRITE.
   */
  const reviseWith = async (
    accountId: string,
    change: (account: AccountRecord) => Partial<AccountRecord> | null,
    signOut: { keepDeviceId: string | null } | undefined,
    event: SecurityEvent | undefined,
    countAs?: string,
  ): Promise<{ account: AccountRecord; signedOut: number }> => {
    const report = event === undefined ? undefined : signOutReport(deps.events, event, countAs)
    const append = report?.append
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const account = await durable.accounts.get(accountId)
      if (account === null) throw new RelayError('NOT_FOUND', { detail: 'no such account' })
      const changes = change(account)
      if (changes === null) return { account, signedOut: 0 }
      const next = reviseAccount(account, changes, clock.now())
      if (signOut === undefined && append === undefined) {
        if ((await durable.accounts.update(accountId, account.version, next)) === 'ok') return { account: next, signedOut: 0 }
        continue
      }
      const effects = { ...(signOut === undefined ? {} : { signOut }), ...(append === undefined ? {} : { append }) }
      const { outcome, signedOut } = await durable.accounts.updateAndSignOut(accountId, account.version, next, effects)
      if (outcome !== 'ok') continue
      await report?.tell(accountId, signedOut)
      return { account: next, signedOut }
    }
    throw new RelayError('CONCURRENT_WRITE', { detail: 'the account changed concurrently; try again' })
  }

  const revise: AccountsService['revise'] = async (accountId, change, event) =>
    (await reviseWith(accountId, change, undefined, event)).account

  const assertCreatable = (username: string, password: string): void => {
    if (!USERNAME.test(username)) {
      throw new RelayError('INVALID_PARAM', { detail: 'username must be 1-64 of A-Z a-z 0-9 . _ = -' })
    }
    requireStrong(password, username)
  }

  return {
    assertCreatable,
    assertStrong: requireStrong,
    async create(username, password) {
      assertCreatable(username, password)
      if ((await durable.accounts.findByUsername(username)) !== null) {
        throw new RelayError('USER_IN_USE', { detail: 'this username is taken' })
      }
      const now = clock.now()
      const account: AccountRecord = {
        id: newOpaqueId(random),
        username,
        passwordHash: await hashPasswordAsync(random, password, argon2),
        status: 'active',
        lockedUntilMs: 0,
        version: 1,
        createdAtMs: now,
        updatedAtMs: now,
      }
      if ((await durable.accounts.create(account)) !== 'ok') {
        throw new RelayError('USER_IN_USE', { detail: 'this username is taken' })
      }
      return account
    },
    findByUsername: (username) => durable.accounts.findByUsername(username),
    get: (id) => durable.accounts.get(id),
    async checkPassword(account, password) {
      const checked = await verifyPasswordAsync(account?.passwordHash ?? (await dummyHash()), password)
      if (account === null || !checked.ok) return fail('INVALID_CREDENTIALS', 'wrong username or password')
      if (needsRehash(account.passwordHash, argon2)) {
        const passwordHash = await hashPasswordAsync(random, password, argon2)
        // Best effort: a concurrent change wins, and the next login tries again.
        await durable.accounts.update(account.id, account.version, reviseAccount(account, { passwordHash }, clock.now()))
      }
      return ok(true)
    },
    async changePassword(accountId, newPassword, keepDeviceId, logoutDevices, details) {
      const account = await durable.accounts.get(accountId)
      if (account === null) throw new RelayError('NOT_FOUND', { detail: 'no such account' })
      requireStrong(newPassword, account.username)
      const passwordHash = await hashPasswordAsync(random, newPassword, argon2)
      const event: SecurityEvent = {
        type: 'password_changed',
        atMs: clock.now(),
        ...(keepDeviceId === null ? {} : { deviceId: keepDeviceId }),
        ...(details === undefined ? {} : { details: { ...details } }),
      }
      const signOut = logoutDevices ? { keepDeviceId } : undefined
      // Signing the others out also voids the sign-ins authorised under the old password and not yet
      // minted (finding 47), and drops a TOTP enrolment begun and not confirmed (finding 57); without
      // it, as the sessions it keeps, they stand.
      const change = (a: AccountRecord) => (logoutDevices ? { passwordHash, ...voidSignIns(a), ...dropPendingTotp(a) } : { passwordHash })
      return (await reviseWith(accountId, change, signOut, event, 'devices_signed_out')).signedOut
    },
    revise,
    async disable(username, event) {
      const account = await durable.accounts.findByUsername(username)
      if (account === null) throw new RelayError('NOT_FOUND', { detail: 'no such user' })
      const change = (a: AccountRecord) => ({ status: 'disabled' as const, ...voidSignIns(a), ...dropPendingTotp(a) })
      return (await reviseWith(account.id, change, { keepDeviceId: null }, event)).account
    },
  }
}
