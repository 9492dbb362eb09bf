/**
 * Durable records: accounts, devices, access tokens and refresh-token families, as every durable
 * store keeps them (see `DurableStore` in `src/ports.ts`), plus the pure rules the stores share.
 *
 * Bearer secrets appear only as SHA-256 hashes (`hashSecret`): a database leak gives lookups, never
 * sessions. The one exception is the TOTP key, which a verifier needs in the clear; a deployment may
 * seal it before it reaches the store. Records are plain data (they cross JSON, SQL and Lua), so log
 * {@link accountForLog} rather than an account.
 *
 * @see https://thecopenhagenbook.com/server-side-tokens
 */

/** `disabled` is an administrative stop; a temporary lockout is `lockedUntilMs` instead. */
export type AccountStatus = 'active' | 'disabled'

/** A TOTP enrolment (MSC1997). Pending until `confirmedAtMs` is set by a first valid code. */
export interface TotpEnrolment {
  /** The shared key as the caller stores it (base32, or sealed by the deployment). */
  secret: string
  confirmedAtMs?: number
  /**
   * What authorised a pending enrolment (finding 57): only this device confirms it, only while the
   * account's epoch has not moved and before `expiresAtMs`. Absent on a confirmed key, and on a pending
   * one stored by an earlier release (which nothing confirms: the owner starts again).
   */
  pending?: PendingTotp
}

/** What authorised a pending TOTP enrolment (see {@link TotpEnrolment.pending}). */
export interface PendingTotp {
  /** The device whose session began it (after its UIA step-up). */
  deviceId: string
  /** The account's {@link AccountRecord.authEpoch} when it began. */
  authEpoch: number
  /** Nothing confirms it from this instant. */
  expiresAtMs: number
}

/** An account. Changed only by compare-and-swap on `version` (`accounts.update`). */
export interface AccountRecord {
  /** Opaque, immutable id. */
  id: string
  /** As registered; unique under {@link usernameKey}, immutable. */
  username: string
  /** PHC string of the password hash (`src/core/auth/password-hash.ts`). */
  passwordHash: string
  status: AccountStatus
  /** Minting is refused until this instant (brute-force lockout); 0 when not locked. */
  lockedUntilMs: number
  totp?: TotpEnrolment
  /**
   * Sign-ins authorised under an earlier value never mint (finding 47): moved on, in the store step of
   * the change, by a password change that signs the other devices out, a disable and a TOTP
   * enrolment (see {@link voidSignIns}). Absent: 0.
   */
  authEpoch?: number
  /** Bumped by one on every update (see {@link reviseAccount}). */
  version: number
  createdAtMs: number
  updatedAtMs: number
}

/** How a device got its session. */
export type DeviceOrigin = 'password' | 'qr'

/** A signed-in device of an account; one device holds one session (its tokens). */
export interface DeviceRecord {
  /** Unique within its account. */
  id: string
  accountId: string
  displayName: string
  origin: DeviceOrigin
  /** QR sign-in: the device that approved it. */
  approvedByDeviceId?: string
  /** QR sign-in: SHA-256 of the rendezvous channel id it came through ("not me" finds siblings). */
  channelHash?: string
  /** Limited scopes until this instant (BCP "limited scopes"); 0 when not quarantined. */
  quarantineUntilMs: number
  createdAtMs: number
  /** Moves only forward (`devices.touch`). */
  lastSeenAtMs: number
  /** Network key of the last request (see `rateKeyOf`), for "where was this device". */
  lastSeenNetwork?: string
  /**
   * The networks the device was seen on lately, most recent first, one entry per network (kept by
   * `devices.touch`, see `./recent-networks.ts`); absent on records made before it and never exposed.
   */
  recentNetworks?: NetworkSighting[]
}

/** A network a device was seen on, and when last (see {@link DeviceRecord.recentNetworks}). */
export interface NetworkSighting {
  network: string
  atMs: number
}

/** An access token: `<id>.<secret>` on the wire, looked up by `id`, proved by `secretHash`. */
export interface AccessTokenRecord {
  id: string
  /** SHA-256 of the secret part, compared by the caller in constant time. */
  secretHash: string
  accountId: string
  deviceId: string
  /** The refresh family it was minted from, if any: revoking the family revokes it. */
  familyId?: string
  scopes: string[]
  /** RFC 9449 DPoP key thumbprint the token is bound to. */
  jkt?: string
  issuedAtMs: number
  /** Gone at exactly this instant, for every adapter. */
  expiresAtMs: number
}

/**
 * A refresh-token family: one chain of rotating refresh tokens `<familyId>.<secret>`. Only the
 * current token refreshes; presenting an earlier one revokes the family (RFC 9700 §4.14.2).
 */
export interface RefreshFamilyRecord {
  id: string
  accountId: string
  deviceId: string
  scopes: string[]
  jkt?: string
  /** Hash of the one token that may refresh now. */
  currentHash: string
  /** Hash of the token rotated out last, and when: a duplicate within the grace window is a race. */
  previousHash?: string
  rotatedAtMs?: number
  /** Number of rotations so far. */
  generation: number
  createdAtMs: number
  /** Absolute end of the family; an expired family is gone, like a missing one. */
  expiresAtMs: number
  /** Set once the family is revoked; a revoked family refreshes nothing, ever again. */
  revokedAtMs?: number
}

/**
 * The uniqueness key of a username: NFKC, then lower case, so `Alice`, `ALICE` and full-width
 * `Ａｌｉｃｅ` are one name.
 *
 * @example
 * usernameKey('Alice') // 'alice'
 */
export const usernameKey = (username: string): string => username.normalize('NFKC').toLowerCase()

/**
 * True when the account may be given new credentials at `now`: active and not locked. Every minting
 * intent of a durable store checks it in the same atomic step as the write.
 *
 * @example
 * if (!isAccountUsable(account, now)) throw new RelayError('FORBIDDEN')
 */
export const isAccountUsable = (account: Pick<AccountRecord, 'status' | 'lockedUntilMs'>, now: number): boolean =>
  account.status === 'active' && account.lockedUntilMs <= now

/** The account's {@link AccountRecord.authEpoch}, 0 when absent. */
export const authEpochOf = (account: Pick<AccountRecord, 'authEpoch'>): number => account.authEpoch ?? 0

/**
 * True when a sign-in authorised under the epoch `authorised` (the account's `authEpoch` when the
 * password was verified or the grant approved) may still mint: the account's epoch has not moved past
 * it. `undefined`: nothing to compare (a mint that names no authorisation). Every durable adapter
 * applies it in the session mint's own step (`DeviceStore.createWithTokens`).
 *
 * @example
 * if (!isAccountUsable(account, now) || !isStillAuthorised(account, authorised)) return 'denied'
 */
export const isStillAuthorised = (account: Pick<AccountRecord, 'authEpoch'>, authorised: number | undefined): boolean =>
  authorised === undefined || authEpochOf(account) <= authorised

/** What a sign-in refused by {@link isStillAuthorised} is told (`FORBIDDEN`, 403 `M_FORBIDDEN`). */
export const SIGN_IN_VOIDED = "the account's password or second factor changed during this sign-in: sign in again"

/** What a sign-in refused at the account's cap on devices is told (finding 62; `FORBIDDEN`, 403 `M_FORBIDDEN`). */
export const TOO_MANY_DEVICES = 'too many signed-in devices: sign some out (from a signed-in device, or ask the operator)'

/**
 * The change that voids every sign-in authorised until now (finding 47): the next epoch. Goes into the
 * same revision as the password change, disable or TOTP enrolment that calls for it.
 *
 * @example
 * const next = reviseAccount(account, { passwordHash, ...voidSignIns(account) }, now)
 */
export const voidSignIns = (account: Pick<AccountRecord, 'authEpoch'>): { authEpoch: number } => ({ authEpoch: authEpochOf(account) + 1 })

/**
 * The part of a change that voids sign-ins which also drops an unconfirmed TOTP enrolment (finding 57):
 * a key begun under the old credentials is not left for a later session to confirm. Goes into the same
 * revision as {@link voidSignIns} for a password change that signs the others out and a disable.
 *
 * @example
 * const next = reviseAccount(account, { passwordHash, ...voidSignIns(account), ...dropPendingTotp(account) }, now)
 */
export const dropPendingTotp = (account: Pick<AccountRecord, 'totp'>): { totp?: undefined } =>
  account.totp !== undefined && account.totp.confirmedAtMs === undefined ? { totp: undefined } : {}

/**
 * The next version of an account: `changes` applied, `version` bumped, `updatedAtMs` set. Feed it to
 * `accounts.update(id, account.version, next)`. `id`, `username` and `createdAtMs` never change.
 *
 * @example
 * const next = reviseAccount(account, { passwordHash }, now)
 */
export const reviseAccount = (
  account: AccountRecord,
  changes: Partial<Omit<AccountRecord, 'id' | 'username' | 'version' | 'createdAtMs' | 'updatedAtMs'>>,
  now: number,
): AccountRecord => ({
  ...account,
  ...changes,
  id: account.id,
  username: account.username,
  createdAtMs: account.createdAtMs,
  version: account.version + 1,
  updatedAtMs: now,
})

/**
 * How many rotated-out hashes a refresh family keeps for reuse detection (finding 63): the newest ones,
 * the older dropped in the rotation's own step on every store. A token rotated out more than this many
 * rotations ago is then unknown (`missing`: invalid_grant, nothing revoked) instead of a replay; the
 * bound keeps one session's refreshes from growing the store for the family's 30 days.
 */
export const REFRESH_USED_KEPT = 64

/** What a store does with a presented refresh token (see {@link judgeRefresh}). */
export type RefreshVerdict = 'rotate' | 'raced' | 'reuse' | 'revoked' | 'missing'

/**
 * Decides a refresh attempt, the rule every adapter applies inside its atomic step:
 * - the current token rotates;
 * - the token rotated out last, presented again within `graceMs` of that rotation, is a concurrent
 *   duplicate (two tabs refreshing at once): refused, nothing revoked;
 * - any other earlier token of the family is a replay: the family is revoked;
 * - a revoked family refuses everything; an expired family or an unknown token changes nothing.
 * `wasUsed` says whether `presentedHash` is among the family's earlier tokens that the store keeps (the
 * last {@link REFRESH_USED_KEPT}).
 *
 * @example
 * judgeRefresh(family, hash, usedHashes.has(hash), now, 2_000) // 'rotate'
 */
export const judgeRefresh = (
  family: RefreshFamilyRecord,
  presentedHash: string,
  wasUsed: boolean,
  now: number,
  graceMs: number,
): RefreshVerdict => {
  if (family.expiresAtMs <= now) return 'missing'
  if (family.revokedAtMs !== undefined) return 'revoked'
  // Plain equality is fine here: these are hashes, whose bytes an attacker cannot steer.
  if (presentedHash === family.currentHash) return 'rotate'
  if (presentedHash === family.previousHash && now < (family.rotatedAtMs ?? 0) + graceMs) return 'raced'
  return wasUsed ? 'reuse' : 'missing'
}

/** An account without its credentials, for logs and errors. */
export const accountForLog = (
  account: AccountRecord,
): Pick<AccountRecord, 'id' | 'status' | 'lockedUntilMs' | 'version'> & { totp: boolean } => ({
  id: account.id,
  status: account.status,
  lockedUntilMs: account.lockedUntilMs,
  version: account.version,
  totp: account.totp?.confirmedAtMs !== undefined,
})
