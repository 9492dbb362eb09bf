/**
 * "Not me": the remediation of a login the user does not recognise, reported from another device of
 * the same account. Only a device allowed to act on other devices may report (not in QR quarantine,
 * authenticated recently or after a step-up: `device-actions.ts`), so a phished QR session cannot
 * sign the owner's phone out. Signs the reported device out everywhere, and with it every device
 * minted through the same QR channel; denies the network it was last seen from, for the reporting
 * account first and for everybody once several independent, established accounts reported it
 * (`core/policy/not-me-global.ts`: three throwaway accounts cannot deny a café's network to its
 * other users), but never the reporter's own network nor one where the account's trusted devices were
 * seen recently (`core/policy/not-me.ts`); and tells the account's devices and the operator
 * (`device_not_me`).
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (detect and remediate)
 */
import { RelayError } from '../core/errors.ts'
import { notMeNetworkVerdict } from '../core/policy/not-me.ts'
import { notMeEvidence, type NotMeKeptGlobally } from '../core/policy/not-me-global.ts'
import type { Clock, DurableStore, SecurityEvents } from '../ports.ts'
import type { AbuseGuard, NotMeDenyScope } from './abuse-guard.ts'
import type { Actor, DeviceActionGuard } from './device-actions.ts'

/** One report. */
export interface NotMeReport {
  reporter: Actor
  /** The reporter's network key for this request (`clientKey`). */
  reporterNetwork: string
  /** The reported device. */
  deviceId: string
  /** Runs the UIA step-up when the reporter's authentication is stale; throws the challenge meanwhile. */
  stepUp(): Promise<void>
}

/** What the report did. */
export interface NotMeOutcome {
  revokedDeviceIds: string[]
  /** 0 when no network was denied. */
  networkDeniedMs: number
  networkDenyScope: NotMeDenyScope
  /** Why the network was not denied (scope `none`), or not to everybody (scope `account`). */
  networkKeptBecause?: 'unknown_network' | 'reporter_network' | 'trusted_device_network' | 'exempt' | 'disabled' | NotMeKeptGlobally
}

/** The service. */
export interface NotMeService {
  /**
   * Handles one report. Errors: NOT_FOUND (no such device of this account), INVALID_PARAM (the
   * reporter itself), FORBIDDEN with reason `quarantined`, the UIA challenge while stepping up.
   */
  report(report: NotMeReport): Promise<NotMeOutcome>
}

/**
 * Builds the service.
 *
 * @example
 * const notMe = notMeService({ durable, events, clock, guard, abuse, denyMs: 86_400_000, globalMinAccountAgeMs: 7 * 86_400_000 })
 * await notMe.report({ reporter: { accountId, deviceId }, reporterNetwork: clientKey, deviceId: id, stepUp })
 */
export const notMeService = (deps: {
  durable: DurableStore
  events: SecurityEvents
  clock: Clock
  guard: DeviceActionGuard
  abuse?: AbuseGuard | undefined
  denyMs: number
  /** How long a reporting account must be established for its report to count toward a deny of everybody. */
  globalMinAccountAgeMs: number
}): NotMeService => ({
  async report({ reporter, reporterNetwork, deviceId, stepUp }) {
    const { accountId } = reporter
    if (deviceId === '' || deviceId.length > 64) throw new RelayError('NOT_FOUND', { detail: 'no such device' })
    if (deviceId === reporter.deviceId) throw new RelayError('INVALID_PARAM', { detail: 'a device cannot report itself: sign out instead' })
    // Quarantine and recency before anything about the target is revealed or changed.
    const { device: reporterDevice, stale } = await deps.guard.check(reporter, 'report_not_me')
    const device = await deps.durable.devices.get(accountId, deviceId)
    if (device === null) throw new RelayError('NOT_FOUND', { detail: 'no such device' })
    if (stale) {
      await stepUp()
      await deps.guard.markAuthenticated(reporter)
    }
    const all = await deps.durable.devices.listByAccount(accountId)
    const siblings =
      device.channelHash === undefined
        ? []
        : all.filter((d) => d.id !== device.id && d.id !== reporter.deviceId && d.channelHash === device.channelHash)
    const revoked: string[] = []
    for (const d of [device, ...siblings]) if (await deps.durable.devices.revoke(accountId, d.id)) revoked.push(d.id)

    const now = deps.clock.now()
    const reporterNetworks = [reporterNetwork, reporterDevice.lastSeenNetwork]
    const remaining = all.filter((d) => d.id !== device.id && !siblings.includes(d))
    const verdict = notMeNetworkVerdict({ network: device.lastSeenNetwork, reporterNetworks, remaining, now })
    let outcome: NotMeOutcome = { revokedDeviceIds: revoked, networkDeniedMs: 0, networkDenyScope: 'none' }
    if (!verdict.deny) outcome.networkKeptBecause = verdict.reason
    else if (deps.abuse === undefined || !(deps.denyMs > 0)) outcome.networkKeptBecause = 'disabled'
    else {
      const account = await deps.durable.accounts.get(accountId)
      const evidence = notMeEvidence({
        accountCreatedAtMs: account?.createdAtMs ?? now,
        devices: remaining,
        reporterNetworks,
        now,
        minAccountAgeMs: deps.globalMinAccountAgeMs,
      })
      const denied = await deps.abuse.denyForAccount(
        verdict.network,
        accountId,
        deps.denyMs,
        evidence.counts ? evidence.networks : undefined,
      )
      outcome =
        denied.scope === 'none'
          ? { ...outcome, networkKeptBecause: 'exempt' }
          : {
              ...outcome,
              networkDeniedMs: deps.denyMs,
              networkDenyScope: denied.scope,
              ...(denied.keptBecause === undefined ? {} : { networkKeptBecause: denied.keptBecause }),
            }
    }
    await deps.events.emit(accountId, {
      type: 'device_not_me',
      atMs: now,
      deviceId: device.id,
      details: {
        reported_by: reporter.deviceId,
        revoked: revoked.length,
        network_denied: outcome.networkDeniedMs > 0,
        network_deny_scope: outcome.networkDenyScope,
      },
    })
    return outcome
  },
})
