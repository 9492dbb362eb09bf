/**
 * When "not me" reports deny a network to *everybody*, not only to the reporting accounts. A report
 * always denies the reported network to its own account (`not-me.ts`); it counts toward the global
 * deny only with evidence that a real, independent owner made it:
 *
 * - the reporting account is established: it exists, and has had a trusted device (out of quarantine,
 *   still signed in), for at least `minAccountAgeMs` (registering accounts is cheap, waiting is not);
 * - reports whose accounts share a network (the reporter's networks and those its account's trusted
 *   devices were seen on, last or within 30 days) count once: one person holding several accounts,
 *   or several accounts run from one place, is one reporter.
 *
 * Only once `globalAfter` independent reporters have live reports is the network denied to
 * everybody. Pure.
 *
 * @see ./not-me.ts
 */
import type { DeviceRecord } from '../accounts/records.ts'
import { networksSeenWithin, RECENT_NETWORKS_WINDOW_MS } from '../accounts/recent-networks.ts'

/** Most networks kept per report (the reporter's own first). */
export const MAX_REPORT_NETWORKS = 8

/** What decides whether a report counts toward the global deny. */
export interface NotMeReporterFacts {
  /** When the reporting account was created. */
  accountCreatedAtMs: number
  /** The reporting account's devices that stay signed in after the report (the reporter among them). */
  devices: readonly Pick<DeviceRecord, 'createdAtMs' | 'quarantineUntilMs' | 'lastSeenNetwork' | 'lastSeenAtMs' | 'recentNetworks'>[]
  /** The reporter's network keys (this request's, its device's last). */
  reporterNetworks: readonly (string | undefined)[]
  now: number
  /** How long the account and one of its trusted devices must have existed. 0: any account counts. */
  minAccountAgeMs: number
}

/** A report's evidence: the networks its reporter is known by, or why it does not count. */
export type NotMeEvidence = { counts: true; networks: string[] } | { counts: false; reason: 'reporter_not_established' }

const isNetwork = (n: string | undefined): n is string => n !== undefined && n !== '' && n !== 'unknown'

/**
 * Whether a report counts toward the global deny, and the networks that identify its reporter.
 *
 * @example
 * notMeEvidence({ accountCreatedAtMs, devices: remaining, reporterNetworks: ['198.51.100.2'], now, minAccountAgeMs: 7 * DAY })
 * // { counts: true, networks: ['198.51.100.2', '192.0.2.80'] }
 */
export const notMeEvidence = (facts: NotMeReporterFacts): NotMeEvidence => {
  const { now, minAccountAgeMs: minAge } = facts
  const trusted = facts.devices.filter((d) => now >= d.quarantineUntilMs)
  const established = now - facts.accountCreatedAtMs >= minAge && trusted.some((d) => now - d.createdAtMs >= minAge)
  if (!established) return { counts: false, reason: 'reporter_not_established' }
  // Last networks first (as before the history), then each trusted device's recent ones (finding 49).
  const recent = trusted.flatMap((d) => networksSeenWithin(d, now, RECENT_NETWORKS_WINDOW_MS))
  const networks = [...new Set([...facts.reporterNetworks, ...trusted.map((d) => d.lastSeenNetwork), ...recent].filter(isNetwork))]
  return { counts: true, networks: networks.slice(0, MAX_REPORT_NETWORKS) }
}

/**
 * The independent reporters among counted reports (account id → its networks): accounts connected
 * by a shared network, directly or through others, are one reporter. For each account, the index of
 * its reporter (group), and how many groups there are.
 *
 * @example
 * independentReporters({ a: ['n1'], b: ['n1', 'n2'], c: ['n3'] }) // { groups: 2, groupOf: { a: 0, b: 0, c: 1 } }
 */
export const independentReporters = (
  reports: Readonly<Record<string, readonly string[]>>,
): { groups: number; groupOf: Record<string, number> } => {
  const accounts = Object.keys(reports).sort()
  const parent = accounts.map((_, i) => i)
  const root = (i: number): number => {
    let r = i
    while (parent[r] !== r) r = parent[r] as number
    return r
  }
  const firstWith = new Map<string, number>()
  accounts.forEach((account, i) => {
    for (const network of reports[account] ?? []) {
      const seen = firstWith.get(network)
      if (seen === undefined) firstWith.set(network, i)
      else parent[root(i)] = root(seen)
    }
  })
  const index = new Map<number, number>()
  const groupOf: Record<string, number> = {}
  accounts.forEach((account, i) => {
    const r = root(i)
    if (!index.has(r)) index.set(r, index.size)
    groupOf[account] = index.get(r) as number
  })
  return { groups: index.size, groupOf }
}

/** Why a report that denied the network to its account did not deny it to everybody. */
export type NotMeKeptGlobally = 'reporter_not_established' | 'shared_reporter_network' | 'below_global_threshold'

/** The scope of a report's deny, and why it stayed with the account. */
export type NotMeScopeVerdict =
  | { scope: 'global'; reporters: number }
  | { scope: 'account'; reporters: number; keptBecause: NotMeKeptGlobally }

/**
 * Decides the scope once `accountId`'s report is stored among the live counted `reports` (it is
 * among them only when it counts; one that does not count neither starts nor extends a global deny).
 *
 * @example
 * notMeScope({ a: ['n1'], b: ['n2'], c: ['n3'] }, 'c', 3) // { scope: 'global', reporters: 3 }
 */
export const notMeScope = (
  reports: Readonly<Record<string, readonly string[]>>,
  accountId: string,
  globalAfter: number,
): NotMeScopeVerdict => {
  const { groups, groupOf } = independentReporters(reports)
  const own = groupOf[accountId]
  // A report without evidence neither starts nor extends a deny of everybody.
  if (own === undefined) return { scope: 'account', reporters: groups, keptBecause: 'reporter_not_established' }
  if (groups >= Math.max(1, globalAfter)) return { scope: 'global', reporters: groups }
  const shared = Object.entries(groupOf).some(([other, g]) => other !== accountId && g === own)
  return { scope: 'account', reporters: groups, keptBecause: shared ? 'shared_reporter_network' : 'below_global_threshold' }
}
