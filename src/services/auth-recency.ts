/**
 * When the user last proved a credential (password, second factor) on a device: a completed UIA
 * step-up marks it; a password login is its device's creation. A QR-minted device never proved one
 * itself, so until it steps up its recency is 0 (stale): being handed a session by QR is not
 * authenticating. Actions on other devices and approvals ask for a step-up when it is stale.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (trusted devices)
 */
import type { DeviceRecord } from '../core/accounts/records.ts'
import type { Clock, SecurityStateStore } from '../ports.ts'

/** The recency of each device's last authentication. */
export interface AuthRecency {
  /** Marks that the user proved a credential on this device now. */
  mark(accountId: string, deviceId: string): Promise<void>
  /**
   * The last authentication on `device`, in ms since the epoch: the mark, else its creation for a
   * device made by a credential login (`fallbackToCreation`), else 0.
   */
  lastAuthenticatedAt(
    device: Pick<DeviceRecord, 'id' | 'accountId' | 'origin' | 'createdAtMs'>,
    fallbackToCreation: 'any' | 'credential',
  ): Promise<number>
}

/**
 * Builds it over the durable store's security state: a mark lives with its device, so a restart
 * keeps it (and a stale device stays stale).
 *
 * @example
 * const recency = authRecency({ security: durable.security, clock })
 * if (clock.now() - (await recency.lastAuthenticatedAt(device, 'credential')) > maxAgeMs) await stepUp()
 */
export const authRecency = (deps: { security: SecurityStateStore; clock: Clock }): AuthRecency => ({
  async mark(accountId, deviceId) {
    await deps.security.markAuthenticated(accountId, deviceId, deps.clock.now())
  },
  async lastAuthenticatedAt(device, fallbackToCreation) {
    const mark = await deps.security.lastAuthenticated(device.accountId, device.id)
    const creation = fallbackToCreation === 'any' || device.origin !== 'qr' ? device.createdAtMs : 0
    return mark !== null && mark > creation ? mark : creation
  },
})
