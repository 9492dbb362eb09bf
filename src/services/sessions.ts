/**
 * Device sessions: minting (a device record, an access token of minutes and a rotating refresh-token
 * family), bearer authentication, refresh with reuse detection, sign-out and the device list. Tokens
 * are `id.secret`; stores keep SHA-256 of the secret and this service compares in constant time.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 * @see https://thecopenhagenbook.com/server-side-tokens
 */
import {
  authEpochOf,
  isAccountUsable,
  isStillAuthorised,
  SIGN_IN_VOIDED,
  TOO_MANY_DEVICES,
  type AccessTokenRecord,
  type AccountRecord,
  type DeviceOrigin,
  type DeviceRecord,
} from '../core/accounts/records.ts'
import { newOpaqueId } from '../core/crypto/secrets.ts'
import { parseDeviceToken } from '../core/auth/device-token.ts'
import { RelayError } from '../core/errors.ts'
import type { PlannedSession } from '../core/oauth/redemption-plan.ts'
import type {
  Clock,
  DurableStore,
  KvStore,
  Random,
  SecurityEvent,
  SecurityEvents,
  SecurityFeedBounds,
  SessionMintOutcome,
} from '../ports.ts'
import { refreshSessions } from './session-refresh.ts'
import { stepReport } from './step-report.ts'
import { putAccessToken, tokenRecords } from './token-mint.ts'

export { RefreshError } from './session-refresh.ts'

/** What the sessions service needs. */
export interface SessionsDeps {
  durable: DurableStore
  clock: Clock
  random: Random
  accessTokenTtlMs: number
  refreshTokenTtlMs: number
  refreshGraceMs: number
  /** Devices one account may hold, checked in the session mint's step (finding 62); absent: no cap. */
  maxDevicesPerAccount?: number
  /** A device's last-seen time is written at most this often per process (reads stay cheap). */
  touchIntervalMs?: number
  /**
   * Where the sealed successor of each refresh waits out the grace (see `refresh-successor.ts`); without
   * it a retried refresh within the grace is refused as `raced` (nothing revoked) instead of answered.
   */
  kv?: KvStore
  /**
   * The account's feed and the other security-event sinks: {@link SessionsService.signIn} reports each
   * sign-in there, and a refresh token's reuse the sign-out of its device (without them it reports nothing).
   */
  events?: SecurityEvents
}

/** The device a session is minted for. QR sign-ins name their approver and are DPoP-bound. */
export interface NewDeviceSession {
  displayName: string
  origin: DeviceOrigin
  network?: string
  /** QR sign-in: the device that approved it. */
  approvedByDeviceId?: string
  /** QR sign-in: a hash that ties the device to the channel it came through. */
  channelHash?: string
  /** Limited scopes until this instant (0 or absent: none). */
  quarantineUntilMs?: number
  /** RFC 9449 key thumbprint the tokens are bound to: every use then needs a proof by that key. */
  jkt?: string
  /**
   * The account's `authEpoch` when this sign-in was authorised (a grant's approval); absent: that of
   * the account record given to the mint (the one whose password was verified). The store refuses
   * the mint once the account's epoch has moved past it (finding 47).
   */
  authorisedEpoch?: number
}

/** Tokens handed to a device once. */
export interface IssuedTokens {
  accessToken: string
  refreshToken: string
  expiresInMs: number
  deviceId: string
  accountId: string
  /** The DPoP key thumbprint the tokens are bound to, when they are. */
  jkt?: string
}

/** The security event a mint stores with its device (see {@link SessionsService.mint}). */
export interface MintReport {
  /** The event, given the new device's id. */
  event(deviceId: string): SecurityEvent
  bounds: SecurityFeedBounds
}

/** An authenticated request's identity. */
export interface Principal {
  accountId: string
  deviceId: string
  token: AccessTokenRecord
}

/** Session use cases. */
export interface SessionsService {
  /**
   * Creates a device and its tokens. Errors: FORBIDDEN when the account is unusable at that instant,
   * or its sign-in epoch moved past the one the sign-in was authorised under (`NewDeviceSession.authorisedEpoch`).
   * With `reported`, the event it returns for the new device's id goes to the account's feed in the
   * same store step (`FeedAppend`): stored if and only if the session is. With `planned` (a device-code
   * redemption's plan), that device id and those tokens: a store error leaves whatever was written for
   * the retry that mints the same records (it keeps those of this plan and writes the rest), and
   * CONCURRENT_WRITE says the session was completed before (or a record of it is no longer untouched).
   */
  mint(account: AccountRecord, device: NewDeviceSession, reported?: MintReport, planned?: PlannedSession): Promise<IssuedTokens>
  /**
   * A sign-in by the account's own credentials (the API's and the pages' password sign-in): {@link mint}
   * with a `device_signed_in` event (`details.origin`, `details.device_name`) that goes to the account's
   * feed in the mint's own step, then to the other sinks (webhooks), so the owner's other devices see
   * every new device, not only those signed in by QR. Errors: as {@link mint}.
   */
  signIn(account: AccountRecord, device: NewDeviceSession): Promise<IssuedTokens>
  /**
   * The principal of a bearer value; changes nothing (a DPoP-bound token is not authenticated yet:
   * call {@link markSeen} once its proof checked out). Errors: MISSING_TOKEN, INVALID_TOKEN.
   */
  authenticate(bearer: string | undefined): Promise<Principal>
  /** Records a fully authenticated request as the device's last sighting (throttled, not awaited). */
  markSeen(principal: Principal, network?: string): void
  /**
   * Rotates a refresh token; throws {@link RefreshError} (reuse revokes the whole family). A family
   * bound to a DPoP key refreshes only for a proof by that key (`proofJkt`, already verified).
   */
  refresh(refreshToken: string, proofJkt?: string): Promise<IssuedTokens>
  /**
   * Signs one device out, telling nobody: a sign-out the user asked for goes through
   * `DeviceManagement.signOut`, which reports it (`device_signed_out`).
   */
  logout(accountId: string, deviceId: string): Promise<boolean>
  listDevices(accountId: string): Promise<DeviceRecord[]>
  /**
   * Whether the device is still signed in (not signed out, reported "not me", signed out by a password
   * change or the operator). An answer that was held open (a long poll) asks again before it is sent.
   */
  isSignedIn(accountId: string, deviceId: string): Promise<boolean>
}

const TOUCH_CACHE_MAX = 10_000

/**
 * How a sign-in's event reaches the account: stored with the session in the mint's own step where the
 * feed is known (`report`, for {@link SessionsService.mint}: one commit), then told to the sinks after it
 * (`tell`: `stored`, or `emit` without a feed). QR and password sign-ins both go this way.
 *
 * @example
 * const { report, tell } = signInReport(events, (deviceId) => ({ type: 'device_signed_in', atMs, deviceId }))
 * const tokens = await sessions.mint(account, device, report)
 * await tell(account.id, tokens.deviceId)
 */
export const signInReport = (events: SecurityEvents, event: (deviceId: string) => SecurityEvent) => {
  const { bounds, tell } = stepReport(events)
  const report: MintReport | undefined = bounds === undefined ? undefined : { event, bounds }
  return { report, tell: (accountId: string, deviceId: string): Promise<void> => tell(accountId, event(deviceId)) }
}

/** {@link SessionsService.signIn}: `mint` with the sign-in's `device_signed_in` (see {@link signInReport}). */
const signInReported = async (
  events: SecurityEvents | undefined,
  clock: Clock,
  mint: SessionsService['mint'],
  account: AccountRecord,
  device: NewDeviceSession,
): Promise<IssuedTokens> => {
  if (events === undefined) return mint(account, device)
  const atMs = clock.now()
  const { report, tell } = signInReport(events, (deviceId) => ({
    type: 'device_signed_in',
    atMs,
    deviceId,
    details: { origin: device.origin, device_name: device.displayName },
  }))
  const tokens = await mint(account, device, report)
  // The sinks do not throw (a failing one logs itself); the session stands either way.
  await tell(account.id, tokens.deviceId)
  return tokens
}

/** The record of a device about to be minted. */
const deviceRecord = (accountId: string, id: string, device: NewDeviceSession, now: number): DeviceRecord => ({
  id,
  accountId,
  displayName: device.displayName,
  origin: device.origin,
  quarantineUntilMs: device.quarantineUntilMs ?? 0,
  ...(device.approvedByDeviceId === undefined ? {} : { approvedByDeviceId: device.approvedByDeviceId }),
  ...(device.channelHash === undefined ? {} : { channelHash: device.channelHash }),
  createdAtMs: now,
  lastSeenAtMs: now,
  ...(device.network === undefined ? {} : { lastSeenNetwork: device.network }),
})

/**
 * Builds the sessions service.
 *
 * @example
 * const tokens = await sessions.mint(account, { displayName: 'Laptop', origin: 'password' })
 * const who = await sessions.authenticate(`${tokens.accessToken}`)
 */
export const sessionsService = (deps: SessionsDeps): SessionsService => {
  const { durable, clock, random, maxDevicesPerAccount: maxDevices } = deps
  const touchIntervalMs = deps.touchIntervalMs ?? 60_000
  const lastTouch = new Map<string, number>()

  const denied = (): RelayError => new RelayError('FORBIDDEN', { detail: 'this account is disabled or locked' })

  /** Why a mint was refused, read after the refusal (the normal path reads nothing more). */
  const refusal = async (accountId: string, authorised: number): Promise<RelayError> => {
    const current = await durable.accounts.get(accountId).catch(() => null)
    const voided = current !== null && isAccountUsable(current, clock.now()) && !isStillAuthorised(current, authorised)
    return voided ? new RelayError('FORBIDDEN', { detail: SIGN_IN_VOIDED }) : denied()
  }

  const putAccess = (accountId: string, deviceId: string, familyId: string, jkt: string | undefined) =>
    putAccessToken(deps, { accountId, deviceId, jkt }, familyId, denied)

  const touch = (accountId: string, deviceId: string, network: string | undefined): void => {
    const now = clock.now()
    const key = `${accountId}/${deviceId}`
    if (now - (lastTouch.get(key) ?? -Infinity) < touchIntervalMs) return
    if (lastTouch.size >= TOUCH_CACHE_MAX) lastTouch.clear()
    lastTouch.set(key, now)
    // Not awaited: last-seen is advisory and must not slow requests down.
    void durable.devices.touch(accountId, deviceId, network === undefined ? { atMs: now } : { atMs: now, network }).catch(() => {})
  }

  const service: SessionsService = {
    signIn: (account, device) => signInReported(deps.events, clock, service.mint, account, device),
    async mint(account, device, reported, planned) {
      const now = clock.now()
      const record = deviceRecord(account.id, planned?.deviceId ?? newOpaqueId(random, 12), device, now)
      const owner = { accountId: account.id, deviceId: record.id, jkt: device.jkt }
      const { family, access, issued } = tokenRecords(deps, owner, planned)
      const authorised = device.authorisedEpoch ?? authEpochOf(account)
      let outcome: SessionMintOutcome
      try {
        // One step: the device, its refresh family and its first access token (one commit on SQLite). A
        // planned session's retry completes what an earlier try of it left, and reports it once.
        const append = reported === undefined ? undefined : { event: reported.event(record.id), bounds: reported.bounds }
        outcome = await durable.devices.createWithTokens(record, { family, access }, append, planned !== undefined, authorised, maxDevices)
      } catch (error) {
        // The answer may be lost after the writes: no half-made device is left behind (it would show
        // in the device list, signed in by nobody). A failed revoke is dropped: the mint's own error
        // is the one to report. A planned session is left for its retry, which mints the same records.
        if (planned === undefined) await durable.devices.revoke(account.id, record.id).catch(() => {})
        throw error
      }
      if (outcome === 'exists' && planned !== undefined) {
        throw new RelayError('CONCURRENT_WRITE', { detail: 'the planned session is stored already' })
      }
      if (outcome === 'full') throw new RelayError('FORBIDDEN', { detail: TOO_MANY_DEVICES })
      if (outcome !== 'ok') throw await refusal(account.id, authorised)
      return issued
    },
    async authenticate(bearer) {
      if (bearer === undefined || bearer === '') {
        throw new RelayError('MISSING_TOKEN', { detail: 'an access token is required' })
      }
      const parsed = parseDeviceToken(bearer)
      if (!parsed.ok) throw new RelayError('INVALID_TOKEN', { detail: 'unknown or expired access token' })
      const record = await durable.tokens.getAccess(parsed.value.id)
      // Compared even when absent, against a hash nothing matches, so both paths do the same work.
      const matches = parsed.value.matches(record?.secretHash ?? '')
      if (record === null || !matches) throw new RelayError('INVALID_TOKEN', { detail: 'unknown or expired access token' })
      return { accountId: record.accountId, deviceId: record.deviceId, token: record }
    },
    refresh: refreshSessions({
      durable,
      random,
      refreshGraceMs: deps.refreshGraceMs,
      putAccess,
      ...(deps.events === undefined ? {} : { report: { events: deps.events, clock } }),
      ...(deps.kv === undefined ? {} : { kv: deps.kv }),
    }),
    markSeen: (principal, network) => touch(principal.accountId, principal.deviceId, network),
    logout: (accountId, deviceId) => durable.devices.revoke(accountId, deviceId),
    listDevices: (accountId) => durable.devices.listByAccount(accountId),
    isSignedIn: async (accountId, deviceId) => (await durable.devices.get(accountId, deviceId)) !== null,
  }
  return service
}
