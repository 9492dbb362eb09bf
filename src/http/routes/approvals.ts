/**
 * `GET /v1/approvals/{user_code}` (Bearer, the existing device): what a person must see before
 * approving: that this signs in ANOTHER device, from which network(s), how that compares with where
 * the approver is now, when it started and the name the new device asked for. Never the codes, the
 * channel binding or the key thumbprint. Every look-up counts against the approver's account, and
 * every failed one against the client address, so user codes cannot be guessed (429) while
 * colleagues behind one address approving their own codes never refuse each other.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-5.4 (remote phishing: tell the user what they approve)
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (establish proximity, user education); SECURITY.md
 */
import type { Context } from 'hono'
import type { Config } from '../../config.ts'
import { RelayError } from '../../core/errors.ts'
import { normalizeUserCode } from '../../core/oauth/user-code.ts'
import { parseAddress, prefixOf } from '../../core/policy/network.ts'
import { DEFAULT_PROXIMITY, judgeProximity } from '../../core/policy/proximity.ts'
import type { Clock, KvStore, NetworkLocator } from '../../ports.ts'
import type { ApprovalsService } from '../../services/approvals.ts'
import type { DeviceGrantsService, StoredGrant } from '../../services/device-grants.ts'
import type { RateLimiter } from '../../services/rate-limiter.ts'
import { userCodeGuard } from '../../services/user-code-guard.ts'
import type { UiaService } from '../../services/uia.ts'
import type { AccountsService } from '../../services/accounts.ts'
import type { AuthedEnv } from '../middleware/bearer-auth.ts'
import { sightingOf, ticketSightingOf } from '../sighting.ts'
import { NO_STORE, optionalString, readOptionalJson, requiredString, uiaRequestOf, withUia, type RouteFn } from './account-shared.ts'
import type { NetworkSighting } from '../../core/policy/proximity.ts'
import type { SigningKeys } from '../../services/signing-keys.ts'

/** What the approval routes need. */
export interface ApprovalDeps {
  grants: DeviceGrantsService
  limiter: RateLimiter
  /** Block marks of addresses over the failed-look-up rule. */
  kv: KvStore
  clock: Clock
  oauth: Config['oauth']
  network: Config['network']
  locator?: NetworkLocator | undefined
  /** A grant this account hid (an unproven decline) is NOT_FOUND to it; default: none hidden. */
  isHidden?: (accountId: string, grantId: string) => Promise<boolean>
}

/** What the approve/decline route needs on top of the context's. */
export interface ApprovalDecisionDeps extends ApprovalDeps {
  approvals: ApprovalsService
  accounts: AccountsService
  uia: UiaService
  /** Verifies the `channel_ticket` an approver may send; without keys the field is refused. */
  signingKeys?: SigningKeys | undefined
  publicBaseUrl: string | undefined
}

/** A channel binding or a key thumbprint: 32 bytes, base64url without padding. */
const BASE64URL_32 = /^[A-Za-z0-9_-]{43}$/


/**
 * Counts one user-code attempt for the approver's account, then loads the pending grant of the code in
 * the path; a failed look-up also counts against the client address (see `user-code-guard.ts`).
 * Errors: RATE_LIMITED (too many look-ups by the account, or failed ones from the address), NOT_FOUND
 * (unknown, expired or no longer pending: the same answer, so a guesser learns nothing).
 */
export const loadPendingGrant = async (c: Context<AuthedEnv>, deps: ApprovalDeps): Promise<StoredGrant> => {
  const { accountId } = c.get('principal')
  const guard = userCodeGuard({
    kv: deps.kv,
    limiter: deps.limiter,
    clock: deps.clock,
    perAccount: deps.oauth.userCodeAttemptsPerAccount,
    failuresPerClient: deps.oauth.userCodeAttemptsPerClient,
  })
  await guard.before(accountId, c.get('clientKey'))
  const canonical = normalizeUserCode(c.req.param('user_code') ?? '')
  const stored = canonical === null ? null : await deps.grants.findByUserCode(canonical)
  if (stored === null || stored.grant.state.kind !== 'pending' || deps.clock.now() >= stored.grant.expiresAtMs) {
    await guard.failed(c.get('clientKey'))
    throw new RelayError('NOT_FOUND', { detail: 'unknown or expired code' })
  }
  return stored
}

/** A network as shown to a person: the prefix, never the full address. */
const networkOf = (ip: string | undefined, network: Config['network']): string | undefined => {
  const address = ip === undefined ? null : parseAddress(ip)
  return address === null ? undefined : prefixOf(address, network.ipv4PrefixBits, network.ipv6PrefixBits)
}

/**
 * Builds the context handler.
 *
 * @example
 * authed.get('/v1/approvals/:user_code', approvalContextRoute(deps))
 */
export const approvalContextRoute = (deps: ApprovalDeps): RouteFn<AuthedEnv> =>
  async function approvalContext(c) {
    const { grant } = await loadPendingGrant(c, deps)
    if (await deps.isHidden?.(c.get('principal').accountId, grant.id)) throw new RelayError('NOT_FOUND', { detail: 'unknown or expired code' })
    const now = deps.clock.now()
    const verdict = judgeProximity(grant.networks, [await sightingOf(c, 'approval', deps)], {
      ...DEFAULT_PROXIMITY,
      ipv4PrefixBits: deps.network.ipv4PrefixBits,
      ipv6PrefixBits: deps.network.ipv6PrefixBits,
    })
    return c.json(
      {
        action: 'sign_in_another_device',
        message: 'You are signing in ANOTHER device to your account. Approve only if you are holding it.',
        requested_device_name: grant.requestedDeviceName ?? null,
        started_at: new Date(grant.createdAtMs).toISOString(),
        expires_in: Math.max(0, Math.floor((grant.expiresAtMs - now) / 1000)),
        new_device_networks: grant.networks.map((s) => ({
          seen_at: s.source,
          network: networkOf(s.ip, deps.network) ?? s.prefix ?? null,
        })),
        proximity: { relation: verdict.relation, inconsistent: verdict.inconsistent },
      },
      200,
      NO_STORE,
    )
  }

/**
 * `POST /v1/approvals/{user_code}` (Bearer, the existing device): `{ decision: 'approve' | 'decline',
 * channel_binding, dpop_jkt, channel_ticket?, auth? }`. A decline burns the login only with the same binding and key as an
 * approval; without them it only hides the request from this account. `channel_ticket` is the signed ticket of the QR
 * code the approver scanned (login intent): it tells where the new device created the channel. The binding and the key thumbprint are what the approver got
 * over the channel; the server approves only when both equal the new device's. The policy may answer
 * a 401 UIA challenge (step-up) or 403 `POLICY_DENIED` with a `reason`. Answers `{ status }`.
 *
 * @example
 * authed.post('/v1/approvals/:user_code', approvalDecisionRoute(deps))
 */
export const approvalDecisionRoute = (deps: ApprovalDecisionDeps): RouteFn<AuthedEnv> =>
  withUia(async function approvalDecision(c) {
    const body = await readOptionalJson(c.req.raw)
    const decision = requiredString(body, 'decision', 16)
    if (decision !== 'approve' && decision !== 'decline') {
      throw new RelayError('INVALID_PARAM', { detail: 'decision must be "approve" or "decline"' })
    }
    const channelBinding = requiredString(body, 'channel_binding', 64)
    const dpopJkt = requiredString(body, 'dpop_jkt', 64)
    if (!BASE64URL_32.test(channelBinding)) throw new RelayError('INVALID_PARAM', { detail: 'channel_binding must be 43 base64url characters' })
    if (!BASE64URL_32.test(dpopJkt)) throw new RelayError('INVALID_PARAM', { detail: 'dpop_jkt must be a 43-character RFC 7638 thumbprint' })
    const ticket = optionalString(body, 'channel_ticket', 4096)
    let newDeviceCreation: NetworkSighting | null = null
    if (ticket !== undefined) {
      if (deps.signingKeys === undefined) throw new RelayError('INVALID_PARAM', { detail: 'this server issues no channel tickets' })
      newDeviceCreation = await ticketSightingOf(ticket, {
        keys: deps.signingKeys,
        clock: deps.clock,
        issuer: deps.publicBaseUrl ?? new URL(c.req.url).origin,
        maxAgeMs: deps.oauth.grantTtlSeconds * 1000,
      })
    }
    const stored = await loadPendingGrant(c, deps)
    const { accountId, deviceId } = c.get('principal')
    const outcome = await deps.approvals.decide({
      stored,
      approver: { accountId, deviceId },
      decision,
      channelBinding,
      dpopJkt,
      sighting: await sightingOf(c, 'approval', deps),
      ...(newDeviceCreation === null ? {} : { newDeviceCreation }),
      stepUp: async (flows) => {
        const account = await deps.accounts.get(accountId)
        if (account === null) throw new RelayError('INVALID_TOKEN', { detail: 'unknown or expired access token' })
        await deps.uia.authorize(uiaRequestOf(c, body), { kind: 'account', account }, { flows: flows.map((stages) => ({ stages })) })
      },
    })
    c.get('log').info({ grant: outcome.grant.id, status: outcome.status, risk: outcome.risk?.action }, 'qr login decided')
    if (outcome.verificationCode !== undefined) {
      return c.json(
        {
          status: outcome.status,
          verification_code: outcome.verificationCode,
          message: 'Type this code on the new device to finish signing it in.',
        },
        200,
        NO_STORE,
      )
    }
    return c.json({ status: outcome.status }, 200, NO_STORE)
  })
