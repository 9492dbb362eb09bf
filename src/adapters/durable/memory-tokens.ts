/**
 * The token sub-store of the memory durable store (./memory.ts): access tokens and refresh families,
 * with the rotation verdict of `judgeRefresh`.
 */
import { judgeRefresh, REFRESH_USED_KEPT } from '../../core/accounts/records.ts'
import type { RotateResult, TokenStore } from '../../ports.ts'
import { copy, liveAccess, liveFamily, revokeFamily, usableAccount, type FamilyState, type MemoryDurableState } from './memory-state.ts'

const rotate = (s: MemoryDurableState, family: FamilyState, presentedHash: string, nextHash: string, graceMs: number): RotateResult => {
  const { record } = family
  const verdict = judgeRefresh(record, presentedHash, family.used.has(presentedHash), s.clock.now(), graceMs)
  switch (verdict) {
    case 'missing':
      return { outcome: 'missing', family: null }
    case 'revoked':
    case 'raced':
      return { outcome: verdict, family: copy(record) }
    case 'reuse':
      revokeFamily(s, family)
      return { outcome: 'reused', family: copy(record) }
    case 'rotate': {
      const state = usableAccount(s, record.accountId)
      if (state === null || !state.devices.has(record.deviceId)) return { outcome: 'denied', family: copy(record) }
      family.used.add(presentedHash)
      // Only the newest rotated-out hashes are kept (finding 63); a Set iterates oldest first.
      for (const old of family.used) {
        if (family.used.size <= REFRESH_USED_KEPT) break
        family.used.delete(old)
      }
      Object.assign(record, { currentHash: nextHash, previousHash: presentedHash, rotatedAtMs: s.clock.now() })
      record.generation++
      return { outcome: 'rotated', family: copy(record) }
    }
    default: {
      const unreachable: never = verdict
      throw new Error(`unknown verdict ${String(unreachable)}`)
    }
  }
}

/** The token sub-store over the memory store's Maps. */
export const memoryTokenStore = (s: MemoryDurableState): TokenStore => ({
  async putAccess(token) {
    const state = usableAccount(s, token.accountId)
    if (state === null || !state.devices.has(token.deviceId)) return 'denied'
    if (token.familyId !== undefined) {
      const family = liveFamily(s, token.familyId)
      if (family === null || family.record.revokedAtMs !== undefined || family.record.deviceId !== token.deviceId) {
        return 'denied'
      }
    }
    if (liveAccess(s, token.id) !== null) return 'exists'
    s.access.set(token.id, copy(token))
    return 'ok'
  },
  async getAccess(id) {
    const token = liveAccess(s, id)
    return token === null ? null : copy(token)
  },
  async revokeAccess(id) {
    const live = liveAccess(s, id) !== null
    s.access.delete(id)
    return live
  },
  async createRefreshFamily(family) {
    const state = usableAccount(s, family.accountId)
    if (state === null || !state.devices.has(family.deviceId)) return 'denied'
    if (liveFamily(s, family.id) !== null) return 'exists'
    s.families.set(family.id, { record: copy(family), used: new Set() })
    return 'ok'
  },
  async getRefreshFamily(familyId) {
    const family = liveFamily(s, familyId)
    return family === null ? null : copy(family.record)
  },
  async rotateRefresh({ familyId, presentedHash, nextHash, graceMs }): Promise<RotateResult> {
    const family = liveFamily(s, familyId)
    if (family === null) return { outcome: 'missing', family: null }
    return rotate(s, family, presentedHash, nextHash, graceMs)
  },
  async revokeRefreshFamily(familyId) {
    const family = liveFamily(s, familyId)
    if (family === null || family.record.revokedAtMs !== undefined) return false
    revokeFamily(s, family)
    return true
  },
})
