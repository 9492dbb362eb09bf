/**
 * The new device's side of a QR login at the token endpoint: one poll of a device code (RFC 8628
 * §3.4), decided by `decidePoll`, stored by compare-and-swap (so of two racing redemptions exactly one
 * moves the grant to `redeemed`, with the plan of the one session it mints), and the session minted
 * for the approved account (`device-redemption.ts`): a device created via QR, linked to its approver
 * and channel, quarantined for the configured time, with tokens bound to the DPoP key that made the
 * proof. The account and the approver are checked again at minting: a lock, a disable or the
 * approver's sign-out after the approval refuses it. A poll again within the retry grace, by the same
 * key, resumes the redemption: the same session, never a second one.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5
 */
import { equalConstantTime } from '../core/crypto/secrets.ts'
import { enterInitiationCode, recordSighting, withRedemptionPlan, type DeviceGrant } from '../core/oauth/device-grant.ts'
import { decidePoll, type PollDecision } from '../core/oauth/polling.ts'
import { planRedemption } from '../core/oauth/redemption-plan.ts'
import type { NetworkSighting } from '../core/policy/proximity.ts'
import type { Clock, DurableStore, Random, SecurityEvents } from '../ports.ts'
import type { DeviceGrantsService, StoredGrant } from './device-grants.ts'
import { deviceRedemption, type PollResult } from './device-redemption.ts'
import { holdMsOf, waitUntilDecided } from './grant-wait.ts'
import type { SessionsService } from './sessions.ts'

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

const refusal = (decision: Exclude<PollDecision, { kind: 'issue' | 'resume' }>): PollResult => {
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
 * const login = deviceLoginService({ grants, sessions, durable, events, clock, random, quarantineSeconds: 86_400 })
 * const result = await login.poll({ deviceCode, proofJkt, sighting })
 */
export const deviceLoginService = (deps: {
  grants: DeviceGrantsService
  sessions: SessionsService
  durable: DurableStore
  events: SecurityEvents
  clock: Clock
  random: Random
  quarantineSeconds: number
}): DeviceLoginService => {
  const { grants, clock } = deps
  const redemption = deviceRedemption(deps)

  /** One poll, and the grant it decided on (none when the device code is unknown). */
  const pollOnce = async ({ deviceCode, proofJkt, sighting, network }: PollRequest): Promise<[PollResult, DeviceGrant?]> => {
    let stored: StoredGrant | null = await grants.findByDeviceCode(deviceCode)
    for (let attempt = 0; attempt < MAX_CAS_TRIES && stored !== null; attempt++) {
      const now = clock.now()
      const { decision, next } = decidePoll(stored.grant, proofJkt, now)
      // A retry of a redemption changes nothing in the grant: it completes or re-reads the planned session.
      if (decision.kind === 'resume') return [await redemption.resume(next, decision.approval, decision.plan, deviceCode, network)]
      const polled = { ...sighting, source: 'poll' as const }
      if (decision.kind === 'issue') {
        // The session is fixed before it is minted, in the very compare-and-swap that redeems the grant.
        const { plan, session } = planRedemption(deps.random, deviceCode)
        const redeemed = recordSighting(withRedemptionPlan(next, plan), polled)
        if ((await grants.replace(stored, redeemed)) === null) {
          stored = await grants.findById(stored.grant.id)
          continue
        }
        return [await redemption.issue(redeemed, decision.approval, session, network)]
      }
      // A stranger's poll (another key) must not leave a trace in the grant.
      const seen = decision.kind === 'invalid_grant' ? next : recordSighting(next, polled)
      if (seen !== stored.grant && (await grants.replace(stored, seen)) === null) {
        stored = await grants.findById(stored.grant.id)
        continue
      }
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
