/**
 * What the abuse guard (./abuse-guard.ts) keeps per source: signal counts per window in the counter
 * store, and in the key-value store the strike record (changed by compare-and-swap), the explicit deny
 * and the live "not me" reports. The guard decides when to read and write them.
 *
 * @see ../core/policy/abuse.ts
 */
import { RelayError } from '../core/errors.ts'
import { abuseWindowIndex, decideAbuse, type AbuseCounts, type AbuseRecord, type AbuseThresholds } from '../core/policy/abuse.ts'
import type { Clock, CounterStore, KvStore, Logger } from '../ports.ts'
import { noteBlock } from './abuse-blocks.ts'
import type { Metrics } from '../ports/metrics.ts'

/** What is counted. */
export type AbuseSignal = 'channel_created' | 'channel_completed' | 'refused_join' | 'check_code_abort' | 'declined_approval'

/** The stores, the clock and the thresholds of one guard. */
export interface AbuseStores {
  counters: CounterStore
  kv: KvStore
  clock: Clock
  logger?: Logger | undefined
  /** Counts each block by reason (`qrelay_abuse_blocks_total`). */
  metrics?: Metrics | undefined
  /** The thresholds a source key counts under (per address or per ASN). */
  thresholdsOf(key: string): AbuseThresholds
}

/**
 * Live "not me" reports of one source: account id → until when its deny lasts; and, for the reports
 * that count toward the deny of everybody (`core/policy/not-me-global.ts`), account id → the networks
 * its reporter is known by. A record written before the latter existed counts no report.
 */
export interface Reports {
  until: Record<string, number>
  networks?: Record<string, string[]>
}

const SIGNAL_FIELD: Record<AbuseSignal, keyof AbuseCounts> = {
  channel_created: 'channelsCreated',
  channel_completed: 'channelsCompleted',
  refused_join: 'refusedJoins',
  check_code_abort: 'checkCodeAborts',
  declined_approval: 'declinedApprovals',
}
const SIGNALS = Object.keys(SIGNAL_FIELD) as AbuseSignal[]
const MAX_CAS_TRIES = 4

/** The counter of one signal of a source in one window. */
export const counterKey = (key: string, window: number, signal: AbuseSignal) => `abuse:${key}:${window}:${signal}`
const recordKey = (key: string) => `abuse-record:${key}`
/** The explicit deny of a source: until when, in ms. */
export const denyKey = (key: string) => `abuse-deny:${key}`
/** The deny of a source for everybody after "not me" reports: until when, in ms (waived for accounts that know it). */
export const notMeDenyKey = (key: string) => `abuse-deny-not-me:${key}`
const reportsKey = (key: string) => `abuse-reports:${key}`
// A record outlives its longest block and its strikes' decay, counted from its last write.
const recordTtlMs = (t: AbuseThresholds) => t.maxBlockMs + t.strikeDecayMs * 8

const countsOf = async ({ counters }: AbuseStores, key: string, window: number): Promise<AbuseCounts> => {
  const values = await Promise.all(SIGNALS.map((signal) => counters.read(counterKey(key, window, signal))))
  const counts: AbuseCounts = { channelsCreated: 0, channelsCompleted: 0, refusedJoins: 0, checkCodeAborts: 0, declinedApprovals: 0 }
  SIGNALS.forEach((signal, i) => (counts[SIGNAL_FIELD[signal]] = values[i] ?? 0))
  return counts
}

/** Decides the source now and stores a new strike, if any; the remaining block in ms. */
export const judge = async (s: AbuseStores, key: string): Promise<number> => {
  const { kv, clock } = s
  const t = s.thresholdsOf(key)
  for (let attempt = 0; attempt < MAX_CAS_TRIES; attempt++) {
    const now = clock.now()
    const window = abuseWindowIndex(now, t)
    const raw = await kv.get(recordKey(key))
    const record = raw === null ? null : (JSON.parse(raw) as AbuseRecord)
    const counts = await countsOf(s, key, window)
    const decision = decideAbuse(counts, window, record, t, now)
    if (decision.next === null || decision.next === record) return decision.retryAfterMs
    const text = JSON.stringify(decision.next)
    // A new strike is written with a full TTL from now (never shorter than the one it replaces).
    const ttlMs = recordTtlMs(t)
    const stored =
      raw === null ? (await kv.put(recordKey(key), text, ttlMs), 'ok') : await kv.replaceIfMatch(recordKey(key), raw, text, ttlMs)
    if (stored === 'ok') {
      if (decision.retryAfterMs > 0) await noteBlock(kv, clock, key, decision.reason ?? 'abuse', now + decision.retryAfterMs)
      s.metrics?.abuseBlock(decision.reason ?? 'unknown')
      s.logger?.warn(
        {
          network: key,
          reason: decision.reason,
          strikes: decision.next.strikes,
          blockedForSeconds: Math.ceil(decision.retryAfterMs / 1000),
          counts,
        },
        'network blocked after abuse signals',
      )
      return decision.retryAfterMs
    }
  }
  return 0
}

/** The live reports of a source, and the stored text they came from (for compare-and-swap). */
export const readReports = async ({ kv, clock }: AbuseStores, key: string): Promise<{ raw: string | null; reports: Reports }> => {
  const raw = await kv.get(reportsKey(key))
  const now = clock.now()
  const parsed = raw === null ? { until: {} } : (JSON.parse(raw) as Reports)
  const until = Object.fromEntries(Object.entries(parsed.until).filter(([, at]) => at > now))
  const networks = Object.fromEntries(Object.entries(parsed.networks ?? {}).filter(([account]) => account in until))
  return { raw, reports: { until, networks } }
}

/**
 * Adds (or extends) `accountId`'s report of the source for `ms`, counted toward the deny of everybody
 * with `networks` (undefined: not counted; an earlier counted report of the account is then dropped
 * from the count). The live reports after it.
 */
export const addReport = async (
  s: AbuseStores,
  key: string,
  accountId: string,
  ms: number,
  networks: readonly string[] | undefined,
): Promise<Required<Reports>> => {
  const { kv, clock } = s
  for (let attempt = 0; attempt < MAX_CAS_TRIES; attempt++) {
    const { raw, reports: read } = await readReports(s, key)
    const reports = { until: read.until, networks: read.networks ?? {} }
    reports.until[accountId] = clock.now() + ms
    if (networks === undefined) delete reports.networks[accountId]
    else reports.networks[accountId] = [...networks]
    const text = JSON.stringify(reports)
    const keepMs = Math.max(ms, ...Object.values(reports.until).map((at) => at - clock.now()))
    // A first report may race another first one: the later put wins, the earlier account's deny
    // is lost (never widened); later reports are compare-and-swapped, the entry then kept for the
    // longest live report (`keepMs` from now, never less than the expiry it replaces).
    const saved =
      raw === null ? (await kv.put(reportsKey(key), text, keepMs), 'ok') : await kv.replaceIfMatch(reportsKey(key), raw, text, keepMs)
    if (saved === 'ok') return reports
  }
  throw new RelayError('UNAVAILABLE', { detail: 'the report changed concurrently; try again' })
}

/** Ends every block of the source: strikes are kept (they decay), this window's counts so far are spent. */
export const clearBlocks = async (s: AbuseStores, key: string): Promise<void> => {
  const { kv, clock } = s
  const t = s.thresholdsOf(key)
  const now = clock.now()
  const window = abuseWindowIndex(now, t)
  const raw = await kv.get(recordKey(key))
  const record = raw === null ? null : (JSON.parse(raw) as AbuseRecord)
  const lifted: AbuseRecord = {
    strikes: record?.strikes ?? 0,
    lastStrikeAtMs: record?.lastStrikeAtMs ?? now,
    blockedUntilMs: now,
    reason: record?.reason ?? 'low_completion',
    struckWindow: window,
    countsAtStrike: await countsOf(s, key, window),
  }
  await kv.put(recordKey(key), JSON.stringify(lifted), recordTtlMs(t))
  await kv.put(denyKey(key), '0', 1)
  await kv.put(notMeDenyKey(key), '0', 1)
  await kv.put(reportsKey(key), JSON.stringify({ until: {} }), 1)
}
