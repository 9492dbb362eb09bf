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
 * (`device_not_me`). The deny comes first (a repeat adds nothing), then the sign-out of the device and
 * its siblings with the event in one store step (`DeviceStore.revokeMany`): a report cut anywhere is
 * made again and completes, or it completed (finding 44).
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (detect and remediate)
 */
import { RelayError } from '../core/errors.ts'
import { notMeNetworkVerdict } from '../core/policy/not-me.ts'
import { notMeEvidence, type NotMeKeptGlobally } from '../core/policy/not-me-global.ts'
import type { DeviceRecord } from '../core/accounts/records.ts'
import type { Clock, DurableStore, SecurityEvents } from '../ports.ts'
import type { AbuseGuard, NotMeDenyScope } from './abuse-guard.ts'
import type { Actor, DeviceActionGuard } from './device-actions.ts'
import { signOutReport } from './step-report.ts'

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
  networkKeptBecause?:
    | 'unknown_network'
    | 'reported_device_older'
    | 'reporter_network'
    | 'trusted_device_network'
    | 'exempt'
    | 'disabled'
    | NotMeKeptGlobally
}

/** The service. */
export interface NotMeService {
  /**
   * Handles one report. Errors: NOT_FOUND (no such device of this account), INVALID_PARAM (the
   * reporter itself), FORBIDDEN with reason `quarantined`, the UIA challenge while stepping up.
   */
  report(report: NotMeReport): Promise<NotMeOutcome>
}

/** What the service needs. */
export interface NotMeDeps {
  durable: DurableStore
  events: SecurityEvents
  clock: Clock
  guard: DeviceActionGuard
  abuse?: AbuseGuard | undefined
  denyMs: number
  /** How long a reporting account must be established for its report to count toward a deny of everybody. */
  globalMinAccountAgeMs: number
}

/**
 * Builds the service.
 *
 * @example
 * const notMe = notMeService({ durable, events, clock, guard, abuse, denyMs: 86_400_000, globalMinAccountAgeMs: 7 * 86_400_000 })
 * await notMe.report({ reporter: { accountId, deviceId }, reporterNetwork: clientKey, deviceId: id, stepUp })
 */
export const notMeService = (deps: NotMeDeps): NotMeService => ({
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

    // The deny first: it is idempotent (one report per account and network), so a report cut after it
    // is made again and completes; the sign-out and the event then land together or not at all.
    const now = deps.clock.now()
    const reporterNetworks = [reporterNetwork, reporterDevice.lastSeenNetwork]
    const remaining = all.filter((d) => d.id !== device.id && !siblings.includes(d))
    const network = await denyNetwork(deps, {
      accountId,
      network: device.lastSeenNetwork,
      reporterNetworks,
      reportedCreatedAtMs: device.createdAtMs,
      reporterCreatedAtMs: reporterDevice.createdAtMs,
      remaining,
      now,
    })

    const { append, tell } = signOutReport(
      deps.events,
      {
        type: 'device_not_me',
        atMs: now,
        deviceId: device.id,
        details: {
          reported_by: reporter.deviceId,
          network_denied: network.networkDeniedMs > 0,
          network_deny_scope: network.networkDenyScope,
        },
      },
      'revoked',
    )
    const { revoked } = await deps.durable.devices.revokeMany(accountId, [device.id, ...siblings.map((d) => d.id)], append)
    if (revoked.length > 0) await tell(accountId, revoked.length)
    return { revokedDeviceIds: revoked, ...network }
  },
})

/** The network part of a report: the verdict, then the deny of the abuse guard when it says so. */
const denyNetwork = async (
  deps: NotMeDeps,
  {
    accountId,
    network,
    reporterNetworks,
    reportedCreatedAtMs,
    reporterCreatedAtMs,
    remaining,
    now,
  }: {
    accountId: string
    network: string | undefined
    reporterNetworks: Array<string | undefined>
    reportedCreatedAtMs: number
    reporterCreatedAtMs: number
    remaining: DeviceRecord[]
    now: number
  },
): Promise<Omit<NotMeOutcome, 'revokedDeviceIds'>> => {
  const verdict = notMeNetworkVerdict({ network, reporterNetworks, reportedCreatedAtMs, reporterCreatedAtMs, remaining, now })
  const none = { networkDeniedMs: 0, networkDenyScope: 'none' } as const
  if (!verdict.deny) return { ...none, networkKeptBecause: verdict.reason }
  if (deps.abuse === undefined || !(deps.denyMs > 0)) return { ...none, networkKeptBecause: 'disabled' }
  const account = await deps.durable.accounts.get(accountId)
  const evidence = notMeEvidence({
    accountCreatedAtMs: account?.createdAtMs ?? now,
    devices: remaining,
    reporterNetworks,
    now,
    minAccountAgeMs: deps.globalMinAccountAgeMs,
  })
  const denied = await deps.abuse.denyForAccount(verdict.network, accountId, deps.denyMs, evidence.counts ? evidence.networks : undefined)
  if (denied.scope === 'none') return { ...none, networkKeptBecause: 'exempt' }
  return {
    networkDeniedMs: deps.denyMs,
    networkDenyScope: denied.scope,
    ...(denied.keptBecause === undefined ? {} : { networkKeptBecause: denied.keptBecause }),
  }
}
