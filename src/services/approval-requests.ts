/**
 * Looking up a pending QR login by its user code, for the approving device, and what that device
 * must show before approving: that it signs in ANOTHER device, from which network(s), how that
 * compares with where the approver is now. Every look-up counts against the approver's account and
 * every failed one against the client address (`user-code-guard.ts`), so codes cannot be guessed.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-5.4 (remote phishing: tell the user what they approve)
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (establish proximity)
 */
import type { Config } from '../config.ts'
import { RelayError } from '../core/errors.ts'
import type { DeviceGrant } from '../core/oauth/device-grant.ts'
import { normalizeUserCode } from '../core/oauth/user-code.ts'
import { parseAddress, prefixOf } from '../core/policy/network.ts'
import { judgeProximity, type NetworkSighting, type ProximityConfig, type ProximityVerdict } from '../core/policy/proximity.ts'
import type { Clock, KvStore } from '../ports.ts'
import type { DeviceGrantsService, StoredGrant } from './device-grants.ts'
import type { RateLimiter } from './rate-limiter.ts'
import { userCodeGuard } from './user-code-guard.ts'

/** Who looks a code up. */
export interface CodeLookup {
  accountId: string
  /** The rate key of the client address. */
  clientKey: string
  /** The user code as typed (normalized here). */
  userCode: string
}

/** What the approving device shows. */
export interface ApprovalContext {
  grant: DeviceGrant
  expiresInSeconds: number
  /** Where the new device was seen: the network prefix, never the full address. */
  newDeviceNetworks: { source: string; network: string | null }[]
  proximity: Pick<ProximityVerdict, 'relation' | 'inconsistent'>
}

/** The service. */
export interface ApprovalRequests {
  /**
   * The pending grant of the code. Errors: RATE_LIMITED, NOT_FOUND (unknown, expired or no longer
   * pending: the same answer, so a guesser learns nothing).
   */
  loadPending(lookup: CodeLookup): Promise<StoredGrant>
  /**
   * {@link loadPending} (a grant this account hid is NOT_FOUND too), then the context seen from where
   * the approver is (`approver` is asked only once the grant is found).
   */
  context(lookup: CodeLookup, approver: () => Promise<NetworkSighting>): Promise<ApprovalContext>
}

const notFound = (): RelayError => new RelayError('NOT_FOUND', { detail: 'unknown or expired code' })

/** A network as shown to a person: the prefix, never the full address. */
const networkOf = (ip: string | undefined, network: Pick<ProximityConfig, 'ipv4PrefixBits' | 'ipv6PrefixBits'>): string | undefined => {
  const address = ip === undefined ? null : parseAddress(ip)
  return address === null ? undefined : prefixOf(address, network.ipv4PrefixBits, network.ipv6PrefixBits)
}

/**
 * Builds the service.
 *
 * @example
 * const stored = await requests.loadPending({ accountId, clientKey, userCode: c.req.param('user_code') })
 */
export const approvalRequests = (deps: {
  grants: DeviceGrantsService
  limiter: RateLimiter
  /** Block marks of addresses over the failed-look-up rule. */
  kv: KvStore
  clock: Clock
  oauth: Config['oauth']
  /**
   * The thresholds the approval decides with (`ApprovalPolicy.proximity`, the prefix lengths of
   * `Config['network']` among them): the context shows the decision's verdict (finding 79).
   */
  proximity: ProximityConfig
  /** A grant this account hid (an unproven decline) is NOT_FOUND to it. */
  isHidden: (accountId: string, grantId: string) => Promise<boolean>
}): ApprovalRequests => {
  const guard = userCodeGuard({
    kv: deps.kv,
    limiter: deps.limiter,
    clock: deps.clock,
    perAccount: deps.oauth.userCodeAttemptsPerAccount,
    failuresPerClient: deps.oauth.userCodeAttemptsPerClient,
  })
  const loadPending = async ({ accountId, clientKey, userCode }: CodeLookup): Promise<StoredGrant> => {
    await guard.before(accountId, clientKey)
    const canonical = normalizeUserCode(userCode)
    const stored = canonical === null ? null : await deps.grants.findByUserCode(canonical)
    if (stored === null || stored.grant.state.kind !== 'pending' || deps.clock.now() >= stored.grant.expiresAtMs) {
      await guard.failed(clientKey)
      throw notFound()
    }
    return stored
  }
  return {
    loadPending,
    async context(lookup, approver) {
      const { grant } = await loadPending(lookup)
      if (await deps.isHidden(lookup.accountId, grant.id)) throw notFound()
      const now = deps.clock.now()
      const verdict = judgeProximity(grant.networks, [await approver()], deps.proximity)
      return {
        grant,
        expiresInSeconds: Math.max(0, Math.floor((grant.expiresAtMs - now) / 1000)),
        newDeviceNetworks: grant.networks.map((s) => ({ source: s.source, network: networkOf(s.ip, deps.proximity) ?? s.prefix ?? null })),
        proximity: { relation: verdict.relation, inconsistent: verdict.inconsistent },
      }
    },
  }
}
