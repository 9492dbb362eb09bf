/**
 * `POST /v1/devices/{id}/not-me` (Bearer, from another device of the same account; body `{ auth? }`):
 * the remediation of a login the user does not recognise (see `services/not-me.ts`). Refused to a
 * device in QR quarantine (403, reason `quarantined`); answers a UIA 401 challenge when the reporter's
 * last authentication is older than `QRELAY_POLICY_DEVICE_ACTION_MAX_AUTH_AGE_SECONDS`. A device
 * cannot report itself.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (detect and remediate)
 */
import { RelayError } from '../../core/errors.ts'
import type { AccountsService } from '../../services/accounts.ts'
import type { NotMeService } from '../../services/not-me.ts'
import type { UiaService } from '../../services/uia.ts'
import type { AuthedEnv } from '../middleware/bearer-auth.ts'
import { NO_STORE, readOptionalJson, uiaRequestOf, withUia, type RouteFn } from './account-shared.ts'

/**
 * Builds the handler.
 *
 * @example
 * authed.post('/v1/devices/:id/not-me', notMeRoute({ notMe, accounts, uia }))
 */
export const notMeRoute = (deps: { notMe: NotMeService; accounts: AccountsService; uia: UiaService }): RouteFn<AuthedEnv> =>
  withUia(async function notMe(c) {
    const { accountId, deviceId } = c.get('principal')
    const body = await readOptionalJson(c.req.raw)
    const outcome = await deps.notMe.report({
      reporter: { accountId, deviceId },
      reporterNetwork: c.get('clientKey'),
      deviceId: c.req.param('id') ?? '',
      stepUp: async () => {
        const account = await deps.accounts.get(accountId)
        if (account === null) throw new RelayError('INVALID_TOKEN', { detail: 'unknown or expired access token' })
        await deps.uia.authorize(uiaRequestOf(c, body), { kind: 'account', account })
      },
    })
    c.get('log').warn(
      {
        revoked: outcome.revokedDeviceIds.length,
        networkDenyScope: outcome.networkDenyScope,
        networkKeptBecause: outcome.networkKeptBecause,
      },
      'device reported not me',
    )
    return c.json(
      {
        revoked_device_ids: outcome.revokedDeviceIds,
        network_denied_for_seconds: Math.floor(outcome.networkDeniedMs / 1000),
        network_deny_scope: outcome.networkDenyScope,
        ...(outcome.networkKeptBecause === undefined ? {} : { network_kept_because: outcome.networkKeptBecause }),
      },
      200,
      NO_STORE,
    )
  })
