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
import type { NetworkSighting } from '../../core/policy/proximity.ts'
import type { AccountsService } from '../../services/accounts.ts'
import type { ApprovalRequests } from '../../services/approval-requests.ts'
import type { ApprovalsService } from '../../services/approvals.ts'
import type { ChannelTickets } from '../../services/channel-tickets.ts'
import type { Sightings } from '../../services/sightings.ts'
import type { UiaService } from '../../services/uia.ts'
import type { AuthedEnv } from '../middleware/bearer-auth.ts'
import { sightingOf } from '../sighting.ts'
import * as v from 'valibot'
import { base64Url32, body as jsonBody, optionalText, parseWith, text } from '../openapi/fields.ts'
import { NO_STORE, readOptionalJson, uiaRequestOf, withUia, type RouteFn } from './account-shared.ts'

/** What the approval routes need. */
export interface ApprovalDeps {
  requests: ApprovalRequests
  sightings: Sightings
}

/** What the approve/decline route needs on top of the context's. */
export interface ApprovalDecisionDeps extends ApprovalDeps {
  approvals: ApprovalsService
  accounts: AccountsService
  uia: UiaService
  /** Verifies the `channel_ticket` an approver may send; without it the field is refused. */
  tickets?: ChannelTickets | undefined
  oauth: Config['oauth']
  publicBaseUrl: string | undefined
}

/** The look-up of the code in the path, by the signed-in approver. */
const lookupOf = (c: Context<AuthedEnv>) => ({
  accountId: c.get('principal').accountId,
  clientKey: c.get('clientKey'),
  userCode: c.req.param('user_code') ?? '',
})

/**
 * `POST /v1/approvals/{user_code}`, checked in this order: the three fields' presence and length,
 * then the binding's and the thumbprint's format (32 bytes, base64url), then the optional ticket.
 */
export const APPROVAL_BODY = v.intersect([
  jsonBody({
    decision: v.pipe(text('decision', 16), v.picklist(['approve', 'decline'], 'decision must be "approve" or "decline"')),
    channel_binding: text('channel_binding', 64),
    dpop_jkt: text('dpop_jkt', 64),
  }),
  jsonBody({
    channel_binding: base64Url32('channel_binding must be 43 base64url characters'),
    dpop_jkt: base64Url32('dpop_jkt must be a 43-character RFC 7638 thumbprint'),
  }),
  jsonBody({ channel_ticket: optionalText('channel_ticket', 4096) }),
])

/**
 * Builds the context handler.
 *
 * @example
 * authed.get('/v1/approvals/:user_code', approvalContextRoute(deps))
 */
export const approvalContextRoute = (deps: ApprovalDeps): RouteFn<AuthedEnv> =>
  async function approvalContext(c) {
    const seen = await deps.requests.context(lookupOf(c), () => sightingOf(c, 'approval', deps.sightings))
    const { grant } = seen
    return c.json(
      {
        action: 'sign_in_another_device',
        message: 'You are signing in ANOTHER device to your account. Approve only if you are holding it.',
        requested_device_name: grant.requestedDeviceName ?? null,
        started_at: new Date(grant.createdAtMs).toISOString(),
        expires_in: seen.expiresInSeconds,
        new_device_networks: seen.newDeviceNetworks.map((n) => ({ seen_at: n.source, network: n.network })),
        proximity: seen.proximity,
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
    const { decision, channel_binding: channelBinding, dpop_jkt: dpopJkt, channel_ticket: ticket } = parseWith(APPROVAL_BODY, body)
    let newDeviceCreation: NetworkSighting | null = null
    if (ticket !== undefined) {
      if (deps.tickets === undefined) throw new RelayError('INVALID_PARAM', { detail: 'this server issues no channel tickets' })
      newDeviceCreation = await deps.tickets.sightingOf(ticket, {
        issuer: deps.publicBaseUrl ?? new URL(c.req.url).origin,
        maxAgeMs: deps.oauth.grantTtlSeconds * 1000,
      })
    }
    const stored = await deps.requests.loadPending(lookupOf(c))
    const { accountId, deviceId } = c.get('principal')
    const outcome = await deps.approvals.decide({
      stored,
      approver: { accountId, deviceId },
      decision,
      channelBinding,
      dpopJkt,
      sighting: await sightingOf(c, 'approval', deps.sightings),
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
