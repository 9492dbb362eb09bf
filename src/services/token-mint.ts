/**
 * Minting a device's tokens: one refresh family and its first access token, optionally bound to a
 * DPoP key. Shared by the sign-ins (`sessions.ts`), refresh rotation and the page hand-over
 * (`page-handoff.ts`); each caller names the error a refused write becomes.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 */
import { mintDeviceToken, type DeviceToken } from '../core/auth/device-token.ts'
import type { AccessTokenRecord, RefreshFamilyRecord } from '../core/accounts/records.ts'
import type { RelayError } from '../core/errors.ts'
import type { Clock, DurableStore, Random } from '../ports.ts'
import type { IssuedTokens } from './sessions.ts'

/** What minting needs: the stores, clock, randomness and the session lifetimes. */
export interface TokenMintDeps {
  durable: DurableStore
  clock: Clock
  random: Random
  accessTokenTtlMs: number
  refreshTokenTtlMs: number
}

/** Whose tokens: the device, and the DPoP key thumbprint they are bound to, if any. */
export interface TokenOwner {
  accountId: string
  deviceId: string
  jkt?: string | undefined
}

/** A new refresh family and its first access token, not stored yet, and what the device is handed. */
export interface TokenRecords {
  family: RefreshFamilyRecord
  access: AccessTokenRecord
  issued: IssuedTokens
}

const accessRecord = (deps: TokenMintDeps, owner: TokenOwner, familyId: string, now: number, given?: DeviceToken) => {
  const token = given ?? mintDeviceToken(deps.random)
  const record: AccessTokenRecord = {
    id: token.id,
    secretHash: token.secretHash(),
    accountId: owner.accountId,
    deviceId: owner.deviceId,
    familyId,
    scopes: [],
    issuedAtMs: now,
    expiresAtMs: now + deps.accessTokenTtlMs,
    ...(owner.jkt === undefined ? {} : { jkt: owner.jkt }),
  }
  return { record, bearer: token.bearer() }
}

/**
 * Makes (without storing) a refresh family and its first access token for `owner`: what
 * `DeviceStore.createWithTokens` stores together with a new device. `given`: these tokens (a planned
 * redemption's) instead of fresh ones.
 *
 * @example
 * const { family, access, issued } = tokenRecords(deps, { accountId, deviceId, jkt })
 */
export const tokenRecords = (
  deps: TokenMintDeps,
  owner: TokenOwner,
  given?: { refresh: DeviceToken; access: DeviceToken },
): TokenRecords => {
  const now = deps.clock.now()
  const refresh = given?.refresh ?? mintDeviceToken(deps.random)
  const family: RefreshFamilyRecord = {
    id: refresh.id,
    accountId: owner.accountId,
    deviceId: owner.deviceId,
    scopes: [],
    currentHash: refresh.secretHash(),
    generation: 0,
    createdAtMs: now,
    expiresAtMs: now + deps.refreshTokenTtlMs,
    ...(owner.jkt === undefined ? {} : { jkt: owner.jkt }),
  }
  const access = accessRecord(deps, owner, refresh.id, now, given?.access)
  return {
    family,
    access: access.record,
    issued: {
      accessToken: access.bearer,
      refreshToken: refresh.bearer(),
      expiresInMs: deps.accessTokenTtlMs,
      deviceId: owner.deviceId,
      accountId: owner.accountId,
      ...(owner.jkt === undefined ? {} : { jkt: owner.jkt }),
    },
  }
}

/**
 * Stores a fresh access token of a refresh family. Throws `denied()` when the store refuses it (the
 * account, device or family became unusable).
 *
 * @example
 * const access = await putAccessToken(deps, { accountId, deviceId }, familyId, denied)
 */
export const putAccessToken = async (
  deps: TokenMintDeps,
  owner: TokenOwner,
  familyId: string,
  denied: () => RelayError,
): Promise<{ bearer: string; ttl: number }> => {
  const { record, bearer } = accessRecord(deps, owner, familyId, deps.clock.now())
  if ((await deps.durable.tokens.putAccess(record)) !== 'ok') throw denied()
  return { bearer, ttl: deps.accessTokenTtlMs }
}

/**
 * Creates a refresh family and its first access token for an existing device. Throws `denied()` when
 * the store refuses either; a family whose access token was refused is revoked, so nothing usable is
 * left behind.
 *
 * @example
 * const tokens = await mintTokenFamily(deps, { accountId, deviceId, jkt }, denied)
 */
export const mintTokenFamily = async (deps: TokenMintDeps, owner: TokenOwner, denied: () => RelayError): Promise<IssuedTokens> => {
  const { family, access, issued } = tokenRecords(deps, owner)
  if ((await deps.durable.tokens.createRefreshFamily(family)) !== 'ok') throw denied()
  try {
    if ((await deps.durable.tokens.putAccess(access)) !== 'ok') throw denied()
  } catch (error) {
    await deps.durable.tokens.revokeRefreshFamily(family.id).catch(() => false)
    throw error
  }
  return issued
}
