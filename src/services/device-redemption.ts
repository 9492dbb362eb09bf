/**
 * The session a device-code redemption mints: the planned one (`core/oauth/redemption-plan.ts`), fixed
 * in the grant's move to `redeemed`. The poll that redeems mints it; a retry within the grace (the
 * answer lost to a killed process or a store error, or a concurrent poll) mints it while a part of it
 * is missing (the store keeps what an earlier try of the plan left and reports the sign-in once), or
 * hands out the very same tokens once the whole session is stored, telling the sinks of its sign-in
 * again (a telling lost to a crash after the commit is made up; a webhook already enqueued is not
 * enqueued twice, its id being derived from the sign-in). One grant, one session, one webhook.
 *
 * @see docs/security/faults.md ("A process killed inside the redemption …")
 */
import { TOO_MANY_DEVICES } from '../core/accounts/records.ts'
import { equalConstantTime, hashSecret } from '../core/crypto/secrets.ts'
import { RelayError } from '../core/errors.ts'
import type { DeviceGrant, GrantApproval } from '../core/oauth/device-grant.ts'
import { openRedemptionPlan, type PlannedSession, type RedemptionPlan } from '../core/oauth/redemption-plan.ts'
import { quarantineUntil } from '../core/oauth/scopes.ts'
import type { Clock, DurableStore, SecurityEvents } from '../ports.ts'
import { DEVICE_FLOW_SCOPE } from './device-grants.ts'
import { signInReport, type IssuedTokens, type SessionsService } from './sessions.ts'

/** The answer to one poll. */
export type PollResult =
  | { kind: 'tokens'; tokens: IssuedTokens; scope: string }
  | { kind: 'error'; error: 'authorization_pending' | 'access_denied' | 'expired_token' | 'invalid_grant'; description: string }
  | { kind: 'error'; error: 'slow_down'; description: string; intervalSeconds: number }

/** What minting a redemption needs. */
export interface RedemptionDeps {
  sessions: SessionsService
  durable: DurableStore
  events: SecurityEvents
  clock: Clock
  quarantineSeconds: number
}

const DEFAULT_DEVICE_NAME = 'New device'

const DENIED_AT_MINT: PollResult = {
  kind: 'error',
  error: 'access_denied',
  description: 'the account or the approving device can no longer sign devices in',
}
const ALREADY_USED: PollResult = { kind: 'error', error: 'invalid_grant', description: 'this device code was already used' }
/**
 * The planned session if it is stored whole and untouched; `missing` while a part of it is not stored
 * (nothing yet, or what a mint cut short left: the store's planned mint completes it); else why not.
 */
const storedSession = async (
  deps: RedemptionDeps,
  approval: GrantApproval,
  planned: PlannedSession,
  jkt: string,
): Promise<PollResult | 'missing'> => {
  const { durable, clock } = deps
  const { feedBounds } = deps.events
  const family = await durable.tokens.getRefreshFamily(planned.refresh.id)
  if (family === null) return 'missing'

  // Signed out meanwhile, or already refreshed (the tokens were handed out and used): not again.
  const untouched =
    family.revokedAtMs === undefined &&
    family.generation === 0 &&
    family.deviceId === planned.deviceId &&
    family.accountId === approval.accountId &&
    planned.refresh.matches(family.currentHash)
  if (!untouched) return ALREADY_USED
  const access = await durable.tokens.getAccess(planned.access.id)
  if (access === null || !planned.access.matches(access.secretHash)) return 'missing'
  // The event is written with the session (one step); a session without it was cut short.
  if (feedBounds !== undefined) {
    const feed = await durable.security.readEvents(approval.accountId, 0, feedBounds.maxEvents)
    const reported = feed.find(
      (e) => e.type === 'device_signed_in' && e.deviceId !== undefined && equalConstantTime(e.deviceId, planned.deviceId),
    )
    if (reported === undefined) return 'missing'
    // The sinks were told of it after the commit: a process killed (or a sink failing) in between
    // told them nothing. Tell them again, the feed's own event: the feed only wakes its readers, the
    // webhook's id derived from the sign-in makes a second telling enqueue nothing.
    const { id: _cursor, ...event } = reported
    await deps.events.stored?.(approval.accountId, event)
  }
  const tokens: IssuedTokens = {
    accessToken: planned.access.bearer(),
    refreshToken: planned.refresh.bearer(),
    expiresInMs: Math.max(0, access.expiresAtMs - clock.now()),
    deviceId: planned.deviceId,
    accountId: approval.accountId,
    jkt,
  }
  return { kind: 'tokens', tokens, scope: DEVICE_FLOW_SCOPE }
}

/** Mints the planned session (or finds it minted by a concurrent poll). */
const mintPlanned = async (
  deps: RedemptionDeps,
  grant: DeviceGrant,
  approval: GrantApproval,
  planned: PlannedSession,
  network: string | undefined,
): Promise<PollResult> => {
  const { durable, clock } = deps
  const [account, approver] = await Promise.all([
    durable.accounts.get(approval.accountId),
    durable.devices.get(approval.accountId, approval.deviceId),
  ])
  if (account === null || approver === null) return DENIED_AT_MINT
  const now = clock.now()
  const deviceName = grant.requestedDeviceName ?? DEFAULT_DEVICE_NAME
  // The store appends the event in the mint's own step (one commit on SQLite); the sinks are told after it.
  const { report, tell } = signInReport(deps.events, (deviceId) => ({
    type: 'device_signed_in',
    atMs: now,
    deviceId,
    details: { origin: 'qr', approved_by: approver.id, device_name: deviceName },
  }))
  let tokens: IssuedTokens
  try {
    const device = {
      displayName: deviceName,
      origin: 'qr' as const,
      approvedByDeviceId: approver.id,
      channelHash: hashSecret(grant.channelBinding),
      quarantineUntilMs: quarantineUntil(now, deps.quarantineSeconds * 1000),
      jkt: grant.dpopJkt,
      // Under the account's sign-in epoch of the approval, not today's: a password change that signed
      // the other devices out since voids it, and every retry of it (finding 47).
      authorisedEpoch: approval.authEpoch ?? 0,
      ...(network === undefined ? {} : { network }),
    }
    tokens = await deps.sessions.mint(account, device, report, planned)
  } catch (error) {
    // Locked or disabled at this very instant, or the approval voided by a password change since (the
    // store checks both in the same step as the write), or the account at its cap on devices (finding 62).
    if (error instanceof RelayError && error.code === 'FORBIDDEN') {
      return error.detail === TOO_MANY_DEVICES ? { ...DENIED_AT_MINT, description: TOO_MANY_DEVICES } : DENIED_AT_MINT
    }
    // The planned session was completed before (by another poll, or a try whose answer was lost):
    // hand it out. Completed and since changed (a part of it signed out): not again.
    if (error instanceof RelayError && error.code === 'CONCURRENT_WRITE') {
      const found = await storedSession(deps, approval, planned, grant.dpopJkt)
      return found === 'missing' ? ALREADY_USED : found
    }
    // Anything else (the store unavailable) is not a refusal: the grant stays redeemed with its
    // plan, and the client's retry within the grace mints (or finds) this same session.
    throw error
  }
  // The sinks must not throw; if one does, the client hears a 503 and its retry hands out the
  // session stored above (its event is in the feed).
  await tell(account.id, tokens.deviceId)
  return { kind: 'tokens', tokens, scope: DEVICE_FLOW_SCOPE }
}

/**
 * Builds the two entries: `issue` for the poll that just redeemed the grant, `resume` for a retry.
 *
 * @example
 * const redemption = deviceRedemption({ sessions, durable, events, clock, quarantineSeconds })
 * const result = await redemption.issue(grant, approval, session, network)
 */
export const deviceRedemption = (deps: RedemptionDeps) => {
  return {
    /** Mints the planned session of a grant this poll just moved to `redeemed`. */
    issue: (grant: DeviceGrant, approval: GrantApproval, planned: PlannedSession, network: string | undefined) =>
      mintPlanned(deps, grant, approval, planned, network),
    /**
     * A retry of a redemption within the grace, by the grant's key: the planned session, opened with
     * `deviceCode`, handed out if stored whole, minted (or completed) while a part of it is missing,
     * else refused.
     */
    async resume(grant: DeviceGrant, approval: GrantApproval, plan: RedemptionPlan, deviceCode: string, network: string | undefined) {
      const planned = openRedemptionPlan(plan, deviceCode)
      if (planned === null) return ALREADY_USED
      const found = await storedSession(deps, approval, planned, grant.dpopJkt)
      return found === 'missing' ? mintPlanned(deps, grant, approval, planned, network) : found
    },
  }
}
