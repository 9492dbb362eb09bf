/**
 * Records for the durable-store conformance suite. Ids are unique per run so that suites sharing one
 * Redis never meet; secrets are hashed the way services hash them.
 */
import type { AccessTokenRecord, AccountRecord, DeviceRecord, RefreshFamilyRecord } from '../../../src/core/accounts/records.ts'
import { hashSecret } from '../../../src/core/crypto/secrets.ts'
import type { DurableStore } from '../../../src/ports.ts'
import type { FakeClock } from '../../helpers/fake-clock.ts'

let serial = 0
/** A fresh id with a readable label. */
export const uid = (label: string): string => `${label}-${Date.now().toString(36)}-${serial++}`

/** The stored form of a made-up secret. */
export const hashOf = (secret: string): string => hashSecret(secret)

export const DAY_MS = 86_400_000

export const newAccount = (clock: FakeClock, changes: Partial<AccountRecord> = {}): AccountRecord => ({
  id: uid('acct'),
  username: uid('user'),
  passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhh',
  status: 'active',
  lockedUntilMs: 0,
  version: 1,
  createdAtMs: clock.now(),
  updatedAtMs: clock.now(),
  ...changes,
})

export const newDevice = (clock: FakeClock, accountId: string, changes: Partial<DeviceRecord> = {}): DeviceRecord => ({
  id: uid('dev'),
  accountId,
  displayName: 'Phone',
  origin: 'password',
  quarantineUntilMs: 0,
  createdAtMs: clock.now(),
  lastSeenAtMs: clock.now(),
  ...changes,
})

export const newAccess = (clock: FakeClock, device: DeviceRecord, changes: Partial<AccessTokenRecord> = {}): AccessTokenRecord => ({
  id: uid('at'),
  secretHash: hashOf(uid('secret')),
  accountId: device.accountId,
  deviceId: device.id,
  scopes: ['urn:qrelay:session'],
  issuedAtMs: clock.now(),
  expiresAtMs: clock.now() + 300_000,
  ...changes,
})

export const newFamily = (clock: FakeClock, device: DeviceRecord, changes: Partial<RefreshFamilyRecord> = {}): RefreshFamilyRecord => ({
  id: uid('rf'),
  accountId: device.accountId,
  deviceId: device.id,
  scopes: ['urn:qrelay:session'],
  currentHash: hashOf(uid('refresh')),
  generation: 0,
  createdAtMs: clock.now(),
  expiresAtMs: clock.now() + 30 * DAY_MS,
  ...changes,
})

/** An account with one device, both stored. */
export const signedIn = async (store: DurableStore, clock: FakeClock): Promise<{ account: AccountRecord; device: DeviceRecord }> => {
  const account = newAccount(clock)
  if ((await store.accounts.create(account)) !== 'ok') throw new Error('fixture account not created')
  const device = newDevice(clock, account.id)
  if ((await store.devices.create(device)) !== 'ok') throw new Error('fixture device not created')
  return { account, device }
}

/** A device with one access token and one refresh family minted from it, all stored. */
export const session = async (
  store: DurableStore,
  clock: FakeClock,
  device: DeviceRecord,
): Promise<{ access: AccessTokenRecord; family: RefreshFamilyRecord }> => {
  const family = newFamily(clock, device)
  if ((await store.tokens.createRefreshFamily(family)) !== 'ok') throw new Error('fixture family not created')
  const access = newAccess(clock, device, { familyId: family.id })
  if ((await store.tokens.putAccess(access)) !== 'ok') throw new Error('fixture token not stored')
  return { access, family }
}
