/**
 * When the user last proved a credential (password, second factor) on a device: a completed UIA
 * step-up marks it; a password login is its device's creation. A QR-minted device never proved one
 * itself, so until it steps up its recency is 0 (stale): being handed a session by QR is not
 * authenticating. Actions on other devices and approvals ask for a step-up when it is stale.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (trusted devices)
 */
import type { DeviceRecord } from '../core/accounts/records.ts'
import type { Clock, KvStore } from '../ports.ts'

/** The recency of each device's last authentication. */
export interface AuthRecency {
  /** Marks that the user proved a credential on this device now. */
  mark(accountId: string, deviceId: string): Promise<void>
  /**
   * The last authentication on `device`, in ms since the epoch: the mark, else its creation for a
   * device made by a credential login (`fallbackToCreation`), else 0.
   */
  lastAuthenticatedAt(device: Pick<DeviceRecord, 'id' | 'accountId' | 'origin' | 'createdAtMs'>, fallbackToCreation: 'any' | 'credential'): Promise<number>
}

const keyOf = (accountId: string, deviceId: string): string => `auth-at:${accountId}:${deviceId}`

/**
 * Builds it over the key-value store; a mark lives `keepMs` (the longest age any rule accepts).
 *
 * @example
 * const recency = authRecency({ kv, clock, keepMs: 7 * 86_400_000 })
 * if (clock.now() - (await recency.lastAuthenticatedAt(device, 'credential')) > maxAgeMs) await stepUp()
 */
export const authRecency = (deps: { kv: KvStore; clock: Clock; keepMs: number }): AuthRecency => ({
  async mark(accountId, deviceId) {
    await deps.kv.put(keyOf(accountId, deviceId), String(deps.clock.now()), Math.max(1, deps.keepMs))
  },
  async lastAuthenticatedAt(device, fallbackToCreation) {
    const mark = Number(await deps.kv.get(keyOf(device.accountId, device.id)))
    const creation = fallbackToCreation === 'any' || device.origin !== 'qr' ? device.createdAtMs : 0
    return Number.isFinite(mark) && mark > creation ? mark : creation
  },
})
