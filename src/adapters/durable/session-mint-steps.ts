/**
 * `DeviceStore.createWithTokens` as three intents in turn (device, refresh family, access token) for
 * the stores that cannot write them in one step across their keys (Redis: the token pointers live on
 * other cluster slots; Durable Objects: the token indexes live in other objects). A later refusal or
 * failure revokes the device, which takes its family and tokens with it, so nothing usable is left.
 */
import type { AccessTokenRecord, DeviceRecord, RefreshFamilyRecord } from '../../core/accounts/records.ts'
import type { DeviceStore, FeedAppend, MintOutcome, SecurityStateStore, TokenStore } from '../../ports.ts'

/** The new session's records: the device's first family and its access token of that family. */
export interface SessionTokens {
  family: RefreshFamilyRecord
  access: AccessTokenRecord
}

/**
 * True when `family` and `access` belong to `device` (same account and device, the token of that
 * family, a family not revoked): every adapter answers `denied` otherwise, before writing anything.
 */
export const tokensFitDevice = (device: DeviceRecord, { family, access }: SessionTokens): boolean =>
  family.accountId === device.accountId &&
  family.deviceId === device.id &&
  family.revokedAtMs === undefined &&
  access.accountId === device.accountId &&
  access.deviceId === device.id &&
  access.familyId === family.id

/**
 * Builds `createWithTokens` over a store's own `devices.create`, `tokens.createRefreshFamily`,
 * `tokens.putAccess` and, for a mint that reports itself, `security.appendEvent` (the fourth step: an
 * account that vanished in between refuses it as `denied`).
 *
 * @example
 * const devices = { ...redisDevices(c), createWithTokens: createWithTokensInSteps(() => devices, () => tokens, () => security) }
 */
export const createWithTokensInSteps =
  (
    devices: () => Pick<DeviceStore, 'create' | 'revoke'>,
    tokens: () => Pick<TokenStore, 'createRefreshFamily' | 'putAccess'>,
    security: () => Pick<SecurityStateStore, 'appendEvent'>,
  ) =>
  async (device: DeviceRecord, records: SessionTokens, append?: FeedAppend): Promise<MintOutcome> => {
    if (!tokensFitDevice(device, records)) return 'denied'
    const { family, access } = records
    const made = await devices().create(device)
    if (made !== 'ok') return made
    let outcome: MintOutcome
    try {
      outcome = await tokens().createRefreshFamily(family)
      if (outcome === 'ok') outcome = await tokens().putAccess(access)
      if (outcome === 'ok' && append !== undefined) {
        const added = await security().appendEvent(device.accountId, append.event, append.bounds)
        if (added === null) outcome = 'denied'
      }
    } catch (error) {
      // Best effort: the failure is what the caller must see; it revokes the device again itself.
      await devices()
        .revoke(device.accountId, device.id)
        .catch(() => false)
      throw error
    }
    if (outcome !== 'ok') await devices().revoke(device.accountId, device.id)
    return outcome
  }
