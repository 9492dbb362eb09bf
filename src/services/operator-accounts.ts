/**
 * Operator actions on accounts (CLI and admin API): list, show, enable, disable, set a password,
 * reset the second factor, list and revoke devices, read the security events. Each refuses an
 * unknown user with `NOT_FOUND`, and every security-relevant change is emitted like any other
 * (account feed, webhooks).
 */
import type { AccountRecord, DeviceRecord } from '../core/accounts/records.ts'
import { RelayError } from '../core/errors.ts'
import type { AccountPage, Clock, DurableStore, SecurityEvents, StoredSecurityEvent } from '../ports.ts'
import type { AccountsService } from './accounts.ts'
import { signOutReport } from './step-report.ts'

const BY_OPERATOR = { by: 'operator' } as const

/** Most accounts one page lists. */
export const LIST_LIMIT_MAX = 1000

/** What an operator can do to an account. */
export interface OperatorAccounts {
  /** The account, or `NOT_FOUND`. */
  show(username: string): Promise<AccountRecord>
  /** Re-enables a disabled account. */
  enable(username: string): Promise<AccountRecord>
  /** Disables the account and signs out every device. */
  disable(username: string): Promise<AccountRecord>
  /** Sets a new password and signs out every device; returns how many were signed out. */
  setPassword(username: string, password: string): Promise<number>
  /**
   * Removes the TOTP enrolment and every recovery code (they belong to that enrolment: a new one
   * issues new codes), so the password alone signs in; emits `totp_disabled`.
   */
  resetSecondFactor(username: string): Promise<{ account: AccountRecord; recoveryCodesRemoved: number }>
  /** The account's security events after the cursor `since` (0: the oldest kept), oldest first. */
  events(username: string, since: number, limit: number): Promise<StoredSecurityEvent[]>
  /** A page of accounts in username order (`after`: the previous page's `next`). */
  list(after: string | null, limit: number): Promise<AccountPage>
  /** The account's devices. */
  devices(username: string): Promise<DeviceRecord[]>
  /** Signs one device out; `NOT_FOUND` when it is not the account's. */
  revokeDevice(username: string, deviceId: string): Promise<void>
}

/**
 * Operator account actions on top of the accounts service.
 *
 * @example
 * const operator = operatorAccounts({ accounts, durable, events, clock })
 * await operator.enable('alice')
 */
export const operatorAccounts = (deps: {
  accounts: AccountsService
  durable: DurableStore
  events: SecurityEvents
  clock: Clock
}): OperatorAccounts => {
  const { accounts, durable, events, clock } = deps
  const show = async (username: string): Promise<AccountRecord> => {
    const account = await accounts.findByUsername(username)
    if (account === null) throw new RelayError('NOT_FOUND', { detail: 'no such user' })
    return account
  }
  return {
    show,
    async enable(username) {
      const account = await show(username)
      // The event goes with the change, in one store step: a process killed in between loses neither.
      return accounts.revise(account.id, () => ({ status: 'active', lockedUntilMs: 0 }), {
        type: 'account_enabled',
        atMs: clock.now(),
        details: BY_OPERATOR,
      })
    },
    async disable(username) {
      // The event goes with the sign-out, in one store step (`AccountsService.disable`).
      return accounts.disable(username, { type: 'account_disabled', atMs: clock.now(), details: BY_OPERATOR })
    },
    async setPassword(username, password) {
      const account = await show(username)
      accounts.assertStrong(password, account.username)
      // `by: operator` in the event, as the operator's other actions: the owner's feed says who set it.
      return accounts.changePassword(account.id, password, null, true, BY_OPERATOR)
    },
    async resetSecondFactor(username) {
      const account = await show(username)
      // The factor's removal and `totp_disabled` in one store step (finding 52, as the owner's own
      // removal since finding 43); the recovery codes, a second factor only while TOTP is on, are wiped
      // after it (a reset cut in between leaves them inert, and the operator's retry wipes them).
      const recoveryCodesRemoved = await durable.credentials.countRecoveryCodes(account.id)
      const next = await accounts.revise(account.id, () => ({ totp: undefined }), {
        type: 'totp_disabled',
        atMs: clock.now(),
        details: { ...BY_OPERATOR, recovery_codes_removed: recoveryCodesRemoved },
      })
      await durable.credentials.replaceRecoveryCodes(account.id, [])
      return { account: next, recoveryCodesRemoved }
    },
    async events(username, since, limit) {
      const account = await show(username)
      return durable.security.readEvents(account.id, since, Math.min(Math.max(1, limit), LIST_LIMIT_MAX))
    },
    list: (after, limit) => durable.accounts.list(after, Math.min(Math.max(1, limit), LIST_LIMIT_MAX)),
    async devices(username) {
      const account = await show(username)
      return durable.devices.listByAccount(account.id)
    },
    async revokeDevice(username, deviceId) {
      const account = await show(username)
      // The event goes with the sign-out, in one store step (finding 44).
      const { append, tell } = signOutReport(events, { type: 'device_revoked', atMs: clock.now(), deviceId, details: BY_OPERATOR })
      const { revoked } = await durable.devices.revokeMany(account.id, [deviceId], append)
      if (revoked.length === 0) throw new RelayError('NOT_FOUND', { detail: 'no such device' })
      await tell(account.id, revoked.length)
    },
  }
}
