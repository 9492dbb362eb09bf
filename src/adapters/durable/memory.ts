/**
 * In-process durable store, for tests and development: Maps that die with the process. Atomic
 * because each method runs to completion without awaiting in between. Records are copied in and out,
 * so callers never share objects with the store.
 */
import {
  isAccountUsable,
  judgeRefresh,
  usernameKey,
  type AccessTokenRecord,
  type AccountRecord,
  type DeviceRecord,
  type RefreshFamilyRecord,
} from '../../core/accounts/records.ts'
import type {
  AccountStore,
  Clock,
  CredentialStore,
  DeviceStore,
  DurableStore,
  MintOutcome,
  RotateResult,
  SecurityStateStore,
  TokenStore,
} from '../../ports.ts'
import { appendKept, readKept, type KeptEvent } from './security-feed.ts'

/** Options of {@link memoryDurableStore}. */
export interface MemoryDurableOptions {
  clock: Clock
}

interface AccountState {
  record: AccountRecord
  lastTotpStep: number
  recoveryCodes: Set<string>
  devices: Map<string, DeviceRecord>
  /** Last proof of a credential per device id (goes with the device). */
  authMarks: Map<string, number>
  /** The security-event feed, oldest first. */
  feed: KeptEvent[]
}

interface FamilyState {
  record: RefreshFamilyRecord
  used: Set<string>
}

const copy = <T>(value: T): T => structuredClone(value)

/**
 * Builds the memory durable store.
 *
 * @example
 * const durable = memoryDurableStore({ clock: systemClock })
 */
export const memoryDurableStore = ({ clock }: MemoryDurableOptions): DurableStore => {
  const accounts = new Map<string, AccountState>()
  const usernames = new Map<string, string>()
  const access = new Map<string, AccessTokenRecord>()
  const families = new Map<string, FamilyState>()

  const usableAccount = (accountId: string): AccountState | null => {
    const state = accounts.get(accountId)
    return state !== undefined && isAccountUsable(state.record, clock.now()) ? state : null
  }
  const liveAccess = (id: string): AccessTokenRecord | null => {
    const token = access.get(id)
    if (token === undefined) return null
    if (token.expiresAtMs > clock.now()) return token
    access.delete(id)
    return null
  }
  const liveFamily = (id: string): FamilyState | null => {
    const family = families.get(id)
    if (family === undefined) return null
    if (family.record.expiresAtMs > clock.now()) return family
    families.delete(id)
    return null
  }
  const revokeFamily = (family: FamilyState): void => {
    family.record.revokedAtMs = clock.now()
    for (const [id, token] of access) if (token.familyId === family.record.id) access.delete(id)
  }
  const revokeDevice = (state: AccountState, deviceId: string): boolean => {
    if (!state.devices.delete(deviceId)) return false
    state.authMarks.delete(deviceId)
    const accountId = state.record.id
    for (const [id, token] of access) {
      if (token.accountId === accountId && token.deviceId === deviceId) access.delete(id)
    }
    for (const family of families.values()) {
      const { record } = family
      if (record.accountId === accountId && record.deviceId === deviceId && record.revokedAtMs === undefined) {
        revokeFamily(family)
      }
    }
    return true
  }

  const accountStore: AccountStore = {
    async create(account) {
      const key = usernameKey(account.username)
      if (accounts.has(account.id) || usernames.has(key)) return 'exists'
      const state = { record: copy(account), lastTotpStep: -1, recoveryCodes: new Set<string>(), devices: new Map(), authMarks: new Map(), feed: [] }
      accounts.set(account.id, state)
      usernames.set(key, account.id)
      return 'ok'
    },
    async get(id) {
      const state = accounts.get(id)
      return state === undefined ? null : copy(state.record)
    },
    async findByUsername(username) {
      const id = usernames.get(usernameKey(username))
      return id === undefined ? null : accountStore.get(id)
    },
    async update(id, expectedVersion, next) {
      const state = accounts.get(id)
      if (state === undefined) return 'missing'
      if (next.id !== id || usernameKey(next.username) !== usernameKey(state.record.username)) {
        throw new Error('accounts.update may not change the id or the username')
      }
      if (state.record.version !== expectedVersion) return 'mismatch'
      state.record = copy(next)
      return 'ok'
    },
  }

  const credentials: CredentialStore = {
    async useTotpStep(accountId, step) {
      const state = accounts.get(accountId)
      if (state === undefined || step <= state.lastTotpStep) return false
      state.lastTotpStep = step
      return true
    },
    async replaceRecoveryCodes(accountId, codeHashes) {
      const state = accounts.get(accountId)
      if (state === undefined) return false
      state.recoveryCodes = new Set(codeHashes)
      return true
    },
    async consumeRecoveryCode(accountId, codeHash) {
      return accounts.get(accountId)?.recoveryCodes.delete(codeHash) ?? false
    },
    async countRecoveryCodes(accountId) {
      return accounts.get(accountId)?.recoveryCodes.size ?? 0
    },
  }

  const devices: DeviceStore = {
    async create(device): Promise<MintOutcome> {
      const state = usableAccount(device.accountId)
      if (state === null) return 'denied'
      if (state.devices.has(device.id)) return 'exists'
      state.devices.set(device.id, copy(device))
      return 'ok'
    },
    async get(accountId, deviceId) {
      const device = accounts.get(accountId)?.devices.get(deviceId)
      return device === undefined ? null : copy(device)
    },
    async listByAccount(accountId) {
      const list = [...(accounts.get(accountId)?.devices.values() ?? [])].map(copy)
      return list.sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    },
    async rename(accountId, deviceId, displayName) {
      const device = accounts.get(accountId)?.devices.get(deviceId)
      if (device === undefined) return false
      device.displayName = displayName
      return true
    },
    async touch(accountId, deviceId, seen) {
      const device = accounts.get(accountId)?.devices.get(deviceId)
      if (device === undefined) return false
      if (seen.atMs > device.lastSeenAtMs) {
        device.lastSeenAtMs = seen.atMs
        if (seen.network === undefined) delete device.lastSeenNetwork
        else device.lastSeenNetwork = seen.network
      }
      return true
    },
    async revoke(accountId, deviceId) {
      const state = accounts.get(accountId)
      return state !== undefined && revokeDevice(state, deviceId)
    },
    async revokeAllExcept(accountId, keepDeviceId) {
      const state = accounts.get(accountId)
      if (state === undefined) return 0
      let n = 0
      for (const id of [...state.devices.keys()]) if (id !== keepDeviceId && revokeDevice(state, id)) n++
      return n
    },
  }

  const tokens: TokenStore = {
    async putAccess(token) {
      const state = usableAccount(token.accountId)
      if (state === null || !state.devices.has(token.deviceId)) return 'denied'
      if (token.familyId !== undefined) {
        const family = liveFamily(token.familyId)
        if (family === null || family.record.revokedAtMs !== undefined || family.record.deviceId !== token.deviceId) {
          return 'denied'
        }
      }
      if (liveAccess(token.id) !== null) return 'exists'
      access.set(token.id, copy(token))
      return 'ok'
    },
    async getAccess(id) {
      const token = liveAccess(id)
      return token === null ? null : copy(token)
    },
    async revokeAccess(id) {
      const live = liveAccess(id) !== null
      access.delete(id)
      return live
    },
    async createRefreshFamily(family) {
      const state = usableAccount(family.accountId)
      if (state === null || !state.devices.has(family.deviceId)) return 'denied'
      if (liveFamily(family.id) !== null) return 'exists'
      families.set(family.id, { record: copy(family), used: new Set() })
      return 'ok'
    },
    async getRefreshFamily(familyId) {
      const family = liveFamily(familyId)
      return family === null ? null : copy(family.record)
    },
    async rotateRefresh({ familyId, presentedHash, nextHash, graceMs }): Promise<RotateResult> {
      const family = liveFamily(familyId)
      if (family === null) return { outcome: 'missing', family: null }
      const { record } = family
      const verdict = judgeRefresh(record, presentedHash, family.used.has(presentedHash), clock.now(), graceMs)
      switch (verdict) {
        case 'missing':
          return { outcome: 'missing', family: null }
        case 'revoked':
        case 'raced':
          return { outcome: verdict, family: copy(record) }
        case 'reuse':
          revokeFamily(family)
          return { outcome: 'reused', family: copy(record) }
        case 'rotate': {
          const state = usableAccount(record.accountId)
          if (state === null || !state.devices.has(record.deviceId)) return { outcome: 'denied', family: copy(record) }
          family.used.add(presentedHash)
          Object.assign(record, { currentHash: nextHash, previousHash: presentedHash, rotatedAtMs: clock.now() })
          record.generation++
          return { outcome: 'rotated', family: copy(record) }
        }
        default: {
          const unreachable: never = verdict
          throw new Error(`unknown verdict ${String(unreachable)}`)
        }
      }
    },
    async revokeRefreshFamily(familyId) {
      const family = liveFamily(familyId)
      if (family === null || family.record.revokedAtMs !== undefined) return false
      revokeFamily(family)
      return true
    },
  }

  const security: SecurityStateStore = {
    async markAuthenticated(accountId, deviceId, atMs) {
      const state = accounts.get(accountId)
      if (state === undefined || !state.devices.has(deviceId)) return false
      if (atMs > (state.authMarks.get(deviceId) ?? -Infinity)) state.authMarks.set(deviceId, atMs)
      return true
    },
    async lastAuthenticated(accountId, deviceId) {
      return accounts.get(accountId)?.authMarks.get(deviceId) ?? null
    },
    async appendEvent(accountId, event, bounds) {
      const state = accounts.get(accountId)
      if (state === undefined) return null
      const { kept, added } = appendKept(state.feed, event, bounds, clock.now())
      state.feed = kept
      return copy(added)
    },
    async readEvents(accountId, since, limit) {
      return readKept(accounts.get(accountId)?.feed ?? [], since, limit, clock.now())
    },
  }

  return {
    kind: 'memory',
    accounts: accountStore,
    credentials,
    devices,
    tokens,
    security,
    async purgeExpired() {
      const now = clock.now()
      let n = 0
      for (const [id, token] of access) if (token.expiresAtMs <= now && access.delete(id)) n++
      for (const [id, family] of families) if (family.record.expiresAtMs <= now && families.delete(id)) n++
      return n
    },
    async ping() {},
    async close() {},
  }
}
