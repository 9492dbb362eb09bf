/**
 * Abuse counters per source → an automatic, decaying deny (BCP "detect and remediate"). A source is a
 * network key (`rateKeyOf`: an IPv4 address or an IPv6 /64). Signals are counted in fixed windows in
 * the counter store; the pure core (`core/policy/abuse.ts`) decides trips, strikes, blocks and decay;
 * the source's record lives in the key-value store, changed by compare-and-swap so two processes
 * never both add a strike for the same counts. A "not me" report adds an explicit deny on top: for
 * the reporting account first, for everybody once reports with evidence come from several independent
 * reporters (`core/policy/not-me-global.ts`); that deny of everybody is waived for an account the
 * network is known to (a trusted device seen there: `vouches`).
 *
 * Every block is logged at warn with its reason and counts; loopback and (when configured) the trusted
 * networks are never blocked; an operator lifts a block with {@link AbuseGuard.lift}
 * (`POST /v1/admin/abuse/lift`).
 *
 * @see ../core/policy/abuse.ts
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (detect and remediate)
 */
import type { Config } from '../config.ts'
import { summarizeError } from '../core/error-summary.ts'
import { abuseWindowIndex, asnThresholdsOf, DEFAULT_ABUSE_PER_IP, type AbuseThresholds } from '../core/policy/abuse.ts'
import { inAnyRange, isLoopback, parseAddress, type Cidr } from '../core/policy/network.ts'
import type { Clock, CounterStore, KvStore, Logger } from '../ports.ts'
import { noteBlock } from './abuse-blocks.ts'
import type { Metrics } from '../ports/metrics.ts'
import { ASN_SOURCE, customerOf, sourceKeyOf } from './abuse-sources.ts'
import {
  addReport,
  clearBlocks,
  counterKey,
  denyKey,
  judge,
  notMeDenyKey,
  readReports,
  type AbuseSignal,
  type AbuseStores,
} from './abuse-state.ts'
import { notMeScope, type NotMeKeptGlobally, type NotMeScopeVerdict } from '../core/policy/not-me-global.ts'

export { sourceKeyOf, sourcesOf } from './abuse-sources.ts'
export type { AbuseSignal } from './abuse-state.ts'

/** The guard. Methods never throw on store trouble for `record` (abuse accounting is best effort). */
export interface AbuseGuard {
  /**
   * Counts one signal against a source (an address, or a network key as `rateKeyOf` writes it). With
   * `onceFor` (e.g. the declining account), that party's signals count once per source and window.
   * An ASN source takes `from`, the network the signal came from: one customer (an IPv4 address, an
   * IPv6 /48) adds at most what would block its own network to the ASN's counts in a window, so that
   * one customer cannot block a whole carrier (finding 78).
   */
  record(source: string, signal: AbuseSignal, onceFor?: string, from?: string): Promise<void>
  /**
   * Whether an approval by `accountId` of a login from the source is refused: true while the source is
   * under an automatic block or an explicit deny, while that account's own "not me" deny of it lasts,
   * and while a global "not me" deny lasts unless the account is vouched for (see `vouches` of the
   * guard's deps: an owner whose established device is known there approves logins from there).
   */
  isDenied(source: string, accountId?: string): Promise<boolean>
  /** Denies the source for everybody for `ms`, whatever its counts (unless exempt). */
  deny(source: string, ms: number): Promise<void>
  /**
   * A "not me" report of `accountId` against the source: denies it for that account for `ms`, and for
   * everybody once `globalAfterAccounts` independent reporters have live reports with evidence
   * (`networks`: the reporter's networks when the report counts, undefined when it does not). The
   * scope applied and, when it stayed with the account, why.
   */
  denyForAccount(source: string, accountId: string, ms: number, networks: readonly string[] | undefined): Promise<NotMeDeny>
  /**
   * How long the source stays denied, in ms (0: not denied), for a channel creator (with `accountId`
   * also that account's own "not me" deny). A global "not me" deny is never waived here: a creator's
   * last-seen network is the one of the request being judged, so a vouch would vouch for itself.
   */
  deniedForMs(source: string, accountId?: string): Promise<number>
  /**
   * Lifts every block of the source (automatic, explicit, per account); the window's counts so far do
   * not strike again. Resolves with how long it was still denied for everybody, in ms.
   */
  lift(source: string): Promise<number>
}

/** Where a "not me" deny applies: `none` when the source is exempt or the duration 0. */
export type NotMeDenyScope = 'account' | 'global' | 'none'

/** What a report's deny did: its scope, and why an `account` deny did not reach everybody. */
export interface NotMeDeny {
  scope: NotMeDenyScope
  keptBecause?: NotMeKeptGlobally
}

/** What one network may count of a signal in a window before it is blocked itself. */
const ownLimitOf = (t: AbuseThresholds, signal: Exclude<AbuseSignal, 'channel_completed'>): number => {
  switch (signal) {
    case 'channel_created':
      return t.minCreatedForRatio
    case 'refused_join':
      return t.maxRefusedJoins
    case 'check_code_abort':
      return t.maxCheckCodeAborts
    case 'declined_approval':
      return t.maxDeclinedApprovals
    default: {
      const unreachable: never = signal
      return unreachable
    }
  }
}

/** The network key `::1` counts under (its /64). */
const IPV6_LOOPBACK_KEY = sourceKeyOf('::1')

/** What the guard needs. */
interface AbuseGuardDeps {
  counters: CounterStore
  kv: KvStore
  clock: Clock
  thresholds: AbuseThresholds
  /** For `asn:` sources; default the per-IP thresholds ×10 (many honest users share an ASN). */
  asnThresholds?: AbuseThresholds
  /** Where blocks are told (warn); default: nowhere. */
  logger?: Logger
  /** Counts blocks by reason; default: nowhere. */
  metrics?: Metrics
  /** Sources never blocked (automatically or by a report); default: loopback. */
  exempt?: { loopback: boolean; networks: readonly Cidr[] }
  /** Independent reporters (with evidence) before a "not me" deny applies to everybody. Default 3. */
  globalAfterAccounts?: number
  /**
   * True when `network` (a network key) is known to the account (a trusted device seen there
   * recently): a "not me" deny of everybody does not apply to it. Default: never.
   */
  vouches?: (accountId: string, network: string) => Promise<boolean>
}

/** How long a deny stored as its end (ms, as text or a number; null: none) has left at `now`. */
const leftMs = (until: string | number | null, now: number): number => {
  const at = Number(until)
  return Number.isFinite(at) && at > now ? at - now : 0
}

/** The source as given (a full address), else its network key's first address. */
const isExemptIn = (exempt: { loopback: boolean; networks: readonly Cidr[] }, source: string): boolean => {
  if (source.startsWith(ASN_SOURCE)) return false
  if (exempt.loopback && source === IPV6_LOOPBACK_KEY) return true
  const address = parseAddress(source) ?? parseAddress(source.split('/')[0] ?? '')
  if (address === null) return false
  return (exempt.loopback && isLoopback(address)) || inAnyRange(address, exempt.networks)
}

/** The warn line of a "not me" deny: which rule applied, and how many accounts and independent reporters. */
const logNotMe = (logger: Logger | undefined, key: string, verdict: NotMeScopeVerdict, accounts: number, ms: number): void =>
  logger?.warn(
    {
      network: key,
      reason: 'not_me',
      scope: verdict.scope,
      ...(verdict.scope === 'account' ? { keptBecause: verdict.keptBecause } : {}),
      reportingAccounts: accounts,
      independentReporters: verdict.reporters,
      blockedForSeconds: Math.ceil(ms / 1000),
    },
    'network denied after a "not me" report',
  )

/**
 * Builds the guard.
 *
 * @example
 * const abuse = abuseGuard({ counters: store.counters, kv: store.kv, clock, thresholds: DEFAULT_ABUSE_PER_IP })
 * if (await abuse.isDenied(clientKey)) throw new RelayError('NETWORK_DENIED')
 */
export const abuseGuard = (deps: AbuseGuardDeps): AbuseGuard => {
  const { counters, kv, clock } = deps
  const perAsn = deps.asnThresholds ?? asnThresholdsOf(deps.thresholds)
  const exempt = deps.exempt ?? { loopback: true, networks: [] }
  const globalAfter = Math.max(1, deps.globalAfterAccounts ?? 3)
  const isExempt = (source: string): boolean => isExemptIn(exempt, source)
  const thresholdsOf = (key: string): AbuseThresholds => (key.startsWith(ASN_SOURCE) ? perAsn : deps.thresholds)
  const stores: AbuseStores = { counters, kv, clock, logger: deps.logger, metrics: deps.metrics, thresholdsOf }

  const deniedMs = async (source: string, accountId: string | undefined, waive: boolean): Promise<number> => {
    if (source === '' || source === 'unknown') return 0
    const key = sourceKeyOf(source)
    if (isExempt(source)) return 0
    const now = clock.now()
    // Both denies of everybody in one round trip: a channel creation checks them on every request.
    const [explicitUntil, notMeUntil] = await Promise.all([kv.get(denyKey(key)), kv.get(notMeDenyKey(key))])
    const ownReport = accountId === undefined ? 0 : ((await readReports(stores, key)).reports.until[accountId] ?? 0)
    const other = Math.max(leftMs(explicitUntil, now), leftMs(ownReport, now), await judge(stores, key))
    const notMe = leftMs(notMeUntil, now)
    // The account that knows this network is asked only when that waiver would change the answer.
    if (!waive || notMe <= other || accountId === undefined || deps.vouches === undefined) return Math.max(other, notMe)
    return (await deps.vouches(accountId, key)) ? other : notMe
  }

  /**
   * True when the signal may count against `key`: always for a network; for an ASN only while the
   * customer `from` belongs to has added less than one network's own limit of it in this window.
   * Completions only ever help a source and are not shared out.
   */
  const withinShare = async (key: string, window: number, signal: AbuseSignal, from: string | undefined, t: AbuseThresholds) => {
    const customer = from === undefined ? null : customerOf(from)
    if (!key.startsWith(ASN_SOURCE) || customer === null || signal === 'channel_completed') return true
    const share = await counters.increment(`${counterKey(key, window, signal)}:from:${customer}`, 2 * t.windowMs)
    return share <= ownLimitOf(deps.thresholds, signal)
  }

  const denyGlobally = async (key: string, ms: number, reason: string, at = denyKey(key)): Promise<void> => {
    await kv.put(at, String(clock.now() + ms), ms)
    await noteBlock(kv, clock, key, reason, clock.now() + ms)
  }

  return {
    async record(source, signal, onceFor, from) {
      if (source === '' || source === 'unknown') return
      const key = sourceKeyOf(source)
      const t = thresholdsOf(key)
      const window = abuseWindowIndex(clock.now(), t)
      try {
        const once =
          onceFor === undefined ? 1 : await counters.increment(`${counterKey(key, window, signal)}:by:${onceFor}`, 2 * t.windowMs)
        if (once === 1 && (await withinShare(key, window, signal, from, t))) {
          await counters.increment(counterKey(key, window, signal), 2 * t.windowMs)
        }
      } catch (error) {
        // Accounting is best effort: a store hiccup must not fail the request that was counted.
        deps.logger?.warn({ err: summarizeError(error), network: key, signal }, 'abuse signal not counted')
      }
    },
    async isDenied(source, accountId) {
      return (await deniedMs(source, accountId, true)) > 0
    },
    deniedForMs: (source, accountId) => deniedMs(source, accountId, false),
    async deny(source, ms) {
      if (source === '' || source === 'unknown' || !(ms > 0)) return
      if (!isExempt(source)) await denyGlobally(sourceKeyOf(source), ms, 'explicit')
    },
    async denyForAccount(source, accountId, ms, networks) {
      if (source === '' || source === 'unknown' || !(ms > 0)) return { scope: 'none' }
      const key = sourceKeyOf(source)
      if (isExempt(source)) return { scope: 'none' }
      const reports = await addReport(stores, key, accountId, ms, networks)
      const verdict = notMeScope(reports.networks, accountId, globalAfter)
      if (verdict.scope === 'global') await denyGlobally(key, ms, 'not_me', notMeDenyKey(key))
      deps.metrics?.abuseBlock(verdict.scope === 'global' ? 'not_me' : 'not_me_account')
      logNotMe(deps.logger, key, verdict, Object.keys(reports.until).length, ms)
      return verdict.scope === 'account' ? { scope: verdict.scope, keptBecause: verdict.keptBecause } : { scope: verdict.scope }
    },
    async lift(source) {
      const key = sourceKeyOf(source)
      const before = await deniedMs(key, undefined, false)
      await clearBlocks(stores, key)
      deps.logger?.warn({ network: key, wasBlockedForSeconds: Math.ceil(before / 1000) }, 'network block lifted by the operator')
      return before
    },
  }
}

/** The thresholds the configuration names (the ratio and decay keep the core's defaults). */
export const abuseThresholdsOf = (abuse: Config['abuse']): AbuseThresholds => ({
  ...DEFAULT_ABUSE_PER_IP,
  windowMs: abuse.windowSeconds * 1000,
  minCreatedForRatio: abuse.minCreatedForRatio,
  maxRefusedJoins: abuse.maxRefusedJoins,
  maxCheckCodeAborts: abuse.maxCheckCodeAborts,
  maxDeclinedApprovals: abuse.maxDeclinedApprovals,
  baseBlockMs: abuse.baseBlockSeconds * 1000,
  maxBlockMs: Math.max(abuse.baseBlockSeconds, abuse.maxBlockSeconds) * 1000,
})

/**
 * The guard the configuration asks for, or undefined when abuse accounting is off.
 *
 * @example
 * const abuse = abuseGuardFor(config.abuse, { counters: store.counters, kv: store.kv, clock })
 */
export const abuseGuardFor = (
  abuse: Config['abuse'],
  deps: {
    counters: CounterStore
    kv: KvStore
    clock: Clock
    logger?: Logger
    metrics?: Metrics
    trustedNetworks?: readonly Cidr[]
    vouches?: (accountId: string, network: string) => Promise<boolean>
  },
): AbuseGuard | undefined => {
  if (!abuse.enabled) return undefined
  const { trustedNetworks, ...rest } = deps
  return abuseGuard({
    ...rest,
    thresholds: abuseThresholdsOf(abuse),
    exempt: { loopback: abuse.exemptLoopback, networks: abuse.exemptTrustedNetworks ? (trustedNetworks ?? []) : [] },
    globalAfterAccounts: abuse.notMeGlobalAfterAccounts,
  })
}
