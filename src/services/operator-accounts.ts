/**
 * Operator actions on accounts (CLI and admin API): show, enable, disable, set a password, reset the
 * second factor, list and revoke devices. Each refuses an unknown user with `NOT_FOUND`, and every
 * security-relevant change is emitted like any other (account feed, webhooks).
 */
import type { AccountRecord, DeviceRecord } from '../core/accounts/records.ts'
import { RelayError } from '../core/errors.ts'
import type { Clock, DurableStore, SecurityEvents } from '../ports.ts'
import type { AccountsService } from './accounts.ts'

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
  /** Removes the TOTP enrolment so the password alone signs in; emits `totp_disabled`. */
  resetSecondFactor(username: string): Promise<AccountRecord>
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
      return accounts.revise(account.id, () => ({ status: 'active', lockedUntilMs: 0 }))
    },
    disable: (username) => accounts.disable(username),
    async setPassword(username, password) {
      const account = await show(username)
      accounts.assertStrong(password, account.username)
      return accounts.changePassword(account.id, password, null, true)
    },
    async resetSecondFactor(username) {
      const account = await show(username)
      const next = await accounts.revise(account.id, () => ({ totp: undefined }))
      await events.emit(account.id, { type: 'totp_disabled', atMs: clock.now(), details: { by: 'operator' } })
      return next
    },
    async devices(username) {
      const account = await show(username)
      return durable.devices.listByAccount(account.id)
    },
    async revokeDevice(username, deviceId) {
      const account = await show(username)
      if (!(await durable.devices.revoke(account.id, deviceId))) throw new RelayError('NOT_FOUND', { detail: 'no such device' })
    },
  }
}
