/**
 * The new device's side of a QR login at the token endpoint: one poll of a device code (RFC 8628
 * §3.4), decided by `decidePoll`, stored by compare-and-swap (so of two racing redemptions exactly one
 * moves the grant to `redeemed`), and, for the winner, a session minted for the approved account:
 * a device created via QR, linked to its approver and channel, quarantined for the configured time,
 * with tokens bound to the DPoP key that made the proof. The account and the approver are checked
 * again at minting: a lock, a disable or the approver's sign-out after the approval refuses it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5
 */
import { equalConstantTime, hashSecret } from '../core/crypto/secrets.ts'
import { RelayError } from '../core/errors.ts'
import { enterInitiationCode, recordSighting, type DeviceGrant } from '../core/oauth/device-grant.ts'
import { decidePoll, type PollDecision } from '../core/oauth/polling.ts'
import { quarantineUntil } from '../core/oauth/scopes.ts'
import type { NetworkSighting } from '../core/policy/proximity.ts'
import type { Clock, DurableStore, SecurityEvent, SecurityEvents } from '../ports.ts'
import { DEVICE_FLOW_SCOPE, type DeviceGrantsService, type StoredGrant } from './device-grants.ts'
import { holdMsOf, waitUntilDecided } from './grant-wait.ts'
import type { IssuedTokens, SessionsService } from './sessions.ts'

/** The answer to one poll. */
export type PollResult =
  | { kind: 'tokens'; tokens: IssuedTokens; scope: string }
  | { kind: 'error'; error: 'authorization_pending' | 'access_denied' | 'expired_token' | 'invalid_grant'; description: string }
  | { kind: 'error'; error: 'slow_down'; description: string; intervalSeconds: number }

/** The answer to a typed initiation code. */
export type CodeEntryResult =
  | { kind: 'verified' }
  | { kind: 'error'; error: 'invalid_code'; description: string; attemptsLeft: number }
  | { kind: 'error'; error: 'access_denied' | 'expired_token' | 'invalid_grant' | 'invalid_request'; description: string }

/** One poll of the token endpoint. */
export interface PollRequest {
  deviceCode: string
  proofJkt: string
  sighting: NetworkSighting
  network?: string
  waitSeconds?: number
  signal?: AbortSignal
}

/** The service. */
export interface DeviceLoginService {
  /**
   * Decides one poll of `deviceCode` by a proof of key `proofJkt` seen from `sighting`. With
   * `waitSeconds` (a long poll, `./grant-wait.ts`) an `authorization_pending` is held until the grant
   * is decided, at most that long and never past the grant's interval; `signal` ends the hold.
   */
  poll(request: PollRequest): Promise<PollResult>
  /**
   * Request-initiation verification: the new device types the code its approver was shown. Only the
   * grant's own key may try; wrong codes spend attempts and the last one declines the grant.
   */
  enterCode(request: { deviceCode: string; proofJkt: string; code: string }): Promise<CodeEntryResult>
}

const MAX_CAS_TRIES = 8
const DEFAULT_DEVICE_NAME = 'New device'

const refusal = (decision: Exclude<PollDecision, { kind: 'issue' }>): PollResult => {
  switch (decision.kind) {
    case 'authorization_pending':
      return { kind: 'error', error: 'authorization_pending', description: 'the user has not approved yet' }
    case 'slow_down':
      return {
        kind: 'error',
        error: 'slow_down',
        description: `polling too fast: wait ${decision.intervalSeconds} s between polls`,
        intervalSeconds: decision.intervalSeconds,
      }
    case 'access_denied':
      return { kind: 'error', error: 'access_denied', description: 'the sign-in was declined' }
    case 'expired_token':
      return { kind: 'error', error: 'expired_token', description: 'the device code has expired: start again' }
    case 'invalid_grant':
      return {
        kind: 'error',
        error: 'invalid_grant',
        description:
          decision.reason === 'wrong_key'
            ? 'the DPoP proof is not by the key this code was issued to'
            : 'this device code was already used',
      }
    default: {
      const unreachable: never = decision
      return unreachable
    }
  }
}

/**
 * Builds the service.
 *
 * @example
 * const login = deviceLoginService({ grants, sessions, durable, events, clock, quarantineSeconds: 86_400 })
 * const result = await login.poll({ deviceCode, proofJkt, sighting })
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: a factory whose methods share the grant and session services; each is short
export const deviceLoginService = (deps: {
  grants: DeviceGrantsService
  sessions: SessionsService
  durable: DurableStore
  events: SecurityEvents
  clock: Clock
  quarantineSeconds: number
}): DeviceLoginService => {
  const { grants, clock } = deps

  const mint = async (
    grant: DeviceGrant,
    approval: { accountId: string; deviceId: string },
    network: string | undefined,
  ): Promise<PollResult> => {
    const deniedAtMint: PollResult = {
      kind: 'error',
      error: 'access_denied',
      description: 'the account or the approving device can no longer sign devices in',
    }
    const [account, approver] = await Promise.all([
      deps.durable.accounts.get(approval.accountId),
      deps.durable.devices.get(approval.accountId, approval.deviceId),
    ])
    if (account === null || approver === null) return deniedAtMint
    const now = clock.now()
    const signedIn = (deviceId: string): SecurityEvent => ({
      type: 'device_signed_in',
      atMs: now,
      deviceId,
      details: { origin: 'qr', approved_by: approver.id, device_name: grant.requestedDeviceName ?? DEFAULT_DEVICE_NAME },
    })
    // Events that go to the feed in `durable`: the store appends this one in the mint's own step (one
    // commit on SQLite), and the sinks are told after it (`stored`) instead of emitting it.
    const { feedBounds } = deps.events
    const stored = feedBounds === undefined ? undefined : deps.events.stored?.bind(deps.events)
    const report = stored === undefined || feedBounds === undefined ? undefined : { event: signedIn, bounds: feedBounds }
    let tokens: IssuedTokens
    try {
      tokens = await deps.sessions.mint(
        account,
        {
          displayName: grant.requestedDeviceName ?? DEFAULT_DEVICE_NAME,
          origin: 'qr',
          approvedByDeviceId: approver.id,
          channelHash: hashSecret(grant.channelBinding),
          quarantineUntilMs: quarantineUntil(now, deps.quarantineSeconds * 1000),
          jkt: grant.dpopJkt,
          ...(network === undefined ? {} : { network }),
        },
        report,
      )
    } catch (error) {
      // Locked or disabled at this very instant (the store checks it in the same step as the write).
      if (error instanceof RelayError && error.code === 'FORBIDDEN') return deniedAtMint
      // Anything else (the store unavailable) is not a refusal: the caller rolls the redemption back.
      throw error
    }
    try {
      await (stored ?? deps.events.emit.bind(deps.events))(account.id, signedIn(tokens.deviceId))
    } catch (error) {
      // Tokens nobody will receive must not stay valid; the retry mints (and reports) afresh.
      // Best effort: the original error is what the caller must see; tokens never handed out expire anyway.
      await deps.sessions.logout(account.id, tokens.deviceId).catch(() => false)
      throw error
    }
    return { kind: 'tokens', tokens, scope: DEVICE_FLOW_SCOPE }
  }

  /**
   * Mints for a grant this poll just moved to `redeemed` (`saved`); on an unexpected failure puts the
   * grant back as it was (`before`) and rethrows, so the client's retry redeems it again instead of
   * hearing "already used" (a login burnt by a transient error).
   */
  const redeem = async (
    before: StoredGrant,
    saved: StoredGrant,
    approval: { accountId: string; deviceId: string },
    network: string | undefined,
  ): Promise<PollResult> => {
    try {
      return await mint(before.grant, approval, network)
    } catch (error) {
      // Best effort: if the roll-back fails too, the grant stays redeemed and the original error is reported.
      await grants.replace(saved, before.grant).catch(() => null)
      throw error
    }
  }

  /** One poll, and the grant it decided on (none when the device code is unknown). */
  const pollOnce = async ({ deviceCode, proofJkt, sighting, network }: PollRequest): Promise<[PollResult, DeviceGrant?]> => {
    let stored: StoredGrant | null = await grants.findByDeviceCode(deviceCode)
    for (let attempt = 0; attempt < MAX_CAS_TRIES && stored !== null; attempt++) {
      const now = clock.now()
      const { decision, next } = decidePoll(stored.grant, proofJkt, now)
      // A stranger's poll (another key) must not leave a trace in the grant.
      const seen = decision.kind === 'invalid_grant' ? next : recordSighting(next, { ...sighting, source: 'poll' })
      let saved: StoredGrant | null = stored
      if (seen !== stored.grant) {
        saved = await grants.replace(stored, seen)
        if (saved === null) {
          stored = await grants.findById(stored.grant.id)
          continue
        }
      }
      if (decision.kind === 'issue') return [await redeem(stored, saved, decision.approval, network)]
      return [refusal(decision), seen]
    }
    if (stored === null) return [{ kind: 'error', error: 'invalid_grant', description: 'unknown device code' }]
    // Lost every race: the grant moves under heavy polling; the client just polls again.
    return [refusal({ kind: 'authorization_pending' })]
  }

  return {
    async poll(request) {
      const [result, grant] = await pollOnce(request)
      const pending = result.kind === 'error' && result.error === 'authorization_pending'
      if (!pending || grant === undefined || request.waitSeconds === undefined) return result
      // A long poll: once the grant is decided, poll again (an approved grant is issued whenever it
      // is polled; a decided one is never slowed down).
      const decided = await waitUntilDecided(grants, grant.id, holdMsOf(grant, request.waitSeconds), request.signal)
      return decided ? (await pollOnce(request))[0] : result
    },
    async enterCode({ deviceCode, proofJkt, code }) {
      let stored: StoredGrant | null = await grants.findByDeviceCode(deviceCode)
      for (let attempt = 0; attempt < MAX_CAS_TRIES && stored !== null; attempt++) {
        const grant = stored.grant
        if (!equalConstantTime(grant.dpopJkt, proofJkt)) {
          return { kind: 'error', error: 'invalid_grant', description: 'the DPoP proof is not by the key this code was issued to' }
        }
        if (grant.state.kind === 'declined') return { kind: 'error', error: 'access_denied', description: 'the sign-in was declined' }
        if (grant.state.kind !== 'approved') {
          return { kind: 'error', error: 'invalid_request', description: 'there is no code to enter before the approval' }
        }
        const { verdict, next } = enterInitiationCode(grant, code, clock.now())
        if (next !== grant && (await grants.replace(stored, next)) === null) {
          stored = await grants.findById(grant.id)
          continue
        }
        switch (verdict) {
          case 'verified':
          case 'already_verified':
          case 'not_required':
            return { kind: 'verified' }
          case 'mismatch':
            return { kind: 'error', error: 'invalid_code', description: 'wrong code', attemptsLeft: next.initiation?.attemptsLeft ?? 0 }
          case 'burned':
            return { kind: 'error', error: 'access_denied', description: 'too many wrong codes: the sign-in was cancelled' }
          case 'expired':
            return { kind: 'error', error: 'expired_token', description: 'the device code has expired: start again' }
          default: {
            const unreachable: never = verdict
            return unreachable
          }
        }
      }
      return { kind: 'error', error: 'invalid_grant', description: 'unknown device code' }
    },
  }
}
