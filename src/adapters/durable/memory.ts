/**
 * In-process durable store, for tests and development: Maps that die with the process. Atomic
 * because each method runs to completion without awaiting in between. Records are copied in and out,
 * so callers never share objects with the store. The Maps and shared look-ups are in
 * ./memory-state.ts, the tokens and refresh families in ./memory-tokens.ts.
 */
import { countedEvent } from '../../core/accounts/counted-event.ts'
import { touchedNetworks } from '../../core/accounts/recent-networks.ts'
import { isStillAuthorised, usernameKey, type AccountRecord, type DeviceRecord } from '../../core/accounts/records.ts'
import type {
  AccountStore,
  Clock,
  CountedFeedAppend,
  CredentialStore,
  DeviceSeen,
  DeviceStore,
  DurableStore,
  MintOutcome,
  SessionMintOutcome,
  ReplaceOutcome,
  SecurityStateStore,
} from '../../ports.ts'
import {
  type AccountState,
  copy,
  liveAccess,
  liveFamily,
  revokeDevice,
  roomForDevice,
  usableAccount,
  type MemoryDurableState,
} from './memory-state.ts'
import { memoryTokenStore } from './memory-tokens.ts'
import { appendKept, readKept } from './security-feed.ts'
import { missingParts, reportedIn, tokensFitDevice } from './session-mint.ts'

/** Options of {@link memoryDurableStore}. */
export interface MemoryDurableOptions {
  clock: Clock
}

/** Appends the event with its count of signed-out devices (`countAs`) to the account's feed; null without one. */
const appendCounted = (s: MemoryDurableState, state: AccountState, append: CountedFeedAppend | undefined, signedOut: number) => {
  if (append === undefined) return null
  const { kept, added } = appendKept(state.feed, countedEvent(append.event, append.countAs, signedOut), append.bounds, s.clock.now())
  state.feed = kept
  return copy(added)
}

/** Signs out every device of the account but `keep`; how many. */
const revokeAllBut = (s: MemoryDurableState, state: AccountState, keep: string | null): number =>
  [...state.devices.keys()].filter((id) => id !== keep && revokeDevice(s, state, id)).length

const memoryAccountStore = (s: MemoryDurableState): AccountStore => {
  const { accounts, usernames } = s
  const swap = (id: string, expectedVersion: number, next: AccountRecord): ReplaceOutcome => {
    const state = accounts.get(id)
    if (state === undefined) return 'missing'
    if (next.id !== id || usernameKey(next.username) !== usernameKey(state.record.username)) {
      throw new Error('accounts.update may not change the id or the username')
    }
    if (state.record.version !== expectedVersion) return 'mismatch'
    state.record = copy(next)
    return 'ok'
  }
  const accountStore: AccountStore = {
    async create(account) {
      const key = usernameKey(account.username)
      if (accounts.has(account.id) || usernames.has(key)) return 'exists'
      const state = {
        record: copy(account),
        lastTotpStep: -1,
        recoveryCodes: new Set<string>(),
        devices: new Map(),
        authMarks: new Map(),
        feed: [],
      }
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
    update: async (id, expectedVersion, next) => swap(id, expectedVersion, next),
    async updateAndSignOut(id, expectedVersion, next, { signOut, append }) {
      const outcome = swap(id, expectedVersion, next)
      const state = accounts.get(id)
      if (outcome !== 'ok' || state === undefined) return { outcome, signedOut: 0, event: null }
      const signedOut = signOut === undefined ? 0 : revokeAllBut(s, state, signOut.keepDeviceId)
      return { outcome, signedOut, event: appendCounted(s, state, append, signedOut) }
    },
    async list(after, limit) {
      const keys = [...usernames.keys()].filter((key) => after === null || key > after).sort()
      const page = keys.slice(0, Math.max(0, limit))
      const found = page.map((key) => accounts.get(usernames.get(key) as string)?.record)
      return {
        accounts: found.filter((record) => record !== undefined).map(copy),
        next: keys.length > page.length && page.length > 0 ? (page.at(-1) as string) : null,
      }
    },
  }
  return accountStore
}

const memoryCredentialStore = ({ accounts }: MemoryDurableState): CredentialStore => ({
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
})

/** `devices.touch` on a stored device: the recent networks, then the last sighting (forward only). */
const touchDevice = (device: DeviceRecord, seen: DeviceSeen): void => {
  const recent = touchedNetworks(device, seen)
  if (recent.length === 0) delete device.recentNetworks
  else device.recentNetworks = recent
  if (seen.atMs > device.lastSeenAtMs) {
    device.lastSeenAtMs = seen.atMs
    if (seen.network === undefined) delete device.lastSeenNetwork
    else device.lastSeenNetwork = seen.network
  }
}

const memoryDeviceStore = (s: MemoryDurableState): DeviceStore => {
  const { accounts } = s
  return {
    async create(device): Promise<MintOutcome> {
      const state = usableAccount(s, device.accountId)
      if (state === null) return 'denied'
      if (state.devices.has(device.id)) return 'exists'
      state.devices.set(device.id, copy(device))
      return 'ok'
    },
    async createWithTokens(device, tokens, append, planned, authorisedEpoch, maxDevices): Promise<SessionMintOutcome> {
      const state = usableAccount(s, device.accountId)
      if (state === null || !isStillAuthorised(state.record, authorisedEpoch) || !tokensFitDevice(device, tokens)) return 'denied'
      const { family, access } = tokens
      const found = {
        device: state.devices.get(device.id) ?? null,
        family: liveFamily(s, family.id)?.record ?? null,
        access: liveAccess(s, access.id),
        reported:
          planned === true && append !== undefined && reportedIn(readKept(state.feed, 0, state.feed.length, s.clock.now()), append.event),
      }
      const missing =
        planned === true
          ? missingParts(device, tokens, found, append !== undefined)
          : found.device === null && found.family === null && found.access === null
            ? { device: true, family: true, access: true, event: append !== undefined }
            : 'exists'
      if (missing === 'exists') return 'exists'
      if (missing.device && maxDevices !== undefined && !roomForDevice(s, state, maxDevices)) return 'full'
      if (missing.device) state.devices.set(device.id, copy(device))
      if (missing.family) s.families.set(family.id, { record: copy(family), used: new Set() })
      if (missing.access) s.access.set(access.id, copy(access))
      if (missing.event && append !== undefined) state.feed = appendKept(state.feed, append.event, append.bounds, s.clock.now()).kept
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
      if (device !== undefined) touchDevice(device, seen)
      return device !== undefined
    },
    async revoke(accountId, deviceId) {
      const state = accounts.get(accountId)
      return state !== undefined && revokeDevice(s, state, deviceId)
    },
    async revokeAllExcept(accountId, keepDeviceId) {
      const state = accounts.get(accountId)
      return state === undefined ? 0 : revokeAllBut(s, state, keepDeviceId)
    },
    async revokeMany(accountId, deviceIds, append) {
      const state = accounts.get(accountId)
      const revoked = state === undefined ? [] : deviceIds.filter((id) => revokeDevice(s, state, id))
      return { revoked, event: state === undefined || revoked.length === 0 ? null : appendCounted(s, state, append, revoked.length) }
    },
  }
}

const memorySecurityStore = ({ accounts, clock }: MemoryDurableState): SecurityStateStore => ({
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
})

/**
 * Builds the memory durable store.
 *
 * @example
 * const durable = memoryDurableStore({ clock: systemClock })
 */
export const memoryDurableStore = ({ clock }: MemoryDurableOptions): DurableStore => {
  const s: MemoryDurableState = { clock, accounts: new Map(), usernames: new Map(), access: new Map(), families: new Map() }
  return {
    kind: 'memory',
    accounts: memoryAccountStore(s),
    credentials: memoryCredentialStore(s),
    devices: memoryDeviceStore(s),
    tokens: memoryTokenStore(s),
    security: memorySecurityStore(s),
    async purgeExpired() {
      const now = clock.now()
      let n = 0
      for (const [id, token] of s.access) if (token.expiresAtMs <= now && s.access.delete(id)) n++
      for (const [id, family] of s.families) if (family.record.expiresAtMs <= now && s.families.delete(id)) n++
      return n
    },
    async ping() {},
    async close() {},
  }
}
