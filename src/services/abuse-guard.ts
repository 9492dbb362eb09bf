/**
 * Abuse counters per source → an automatic, decaying deny (BCP "detect and remediate"). A source is a
 * network key (`rateKeyOf`: an IPv4 address or an IPv6 /64). Signals are counted in fixed windows in
 * the counter store; the pure core (`core/policy/abuse.ts`) decides trips, strikes, blocks and decay;
 * the source's record lives in the key-value store, changed by compare-and-swap so two processes
 * never both add a strike for the same counts. A "not me" report adds an explicit deny on top.
 *
 * @see ../core/policy/abuse.ts
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (detect and remediate)
 */
import type { Config } from '../config.ts'
import {
  abuseWindowIndex,
  decideAbuse,
  DEFAULT_ABUSE_PER_ASN,
  DEFAULT_ABUSE_PER_IP,
  type AbuseCounts,
  type AbuseRecord,
  type AbuseThresholds,
} from '../core/policy/abuse.ts'
import { parseAddress, rateKeyOf } from '../core/policy/network.ts'
import type { Clock, CounterStore, KvStore } from '../ports.ts'

/** What is counted. */
export type AbuseSignal = 'channel_created' | 'channel_completed' | 'refused_join' | 'check_code_abort' | 'declined_approval'

/** The guard. Methods never throw on store trouble for `record` (abuse accounting is best effort). */
export interface AbuseGuard {
  /** Counts one signal against a source (an address, or a network key as `rateKeyOf` writes it). */
  record(source: string, signal: AbuseSignal): Promise<void>
  /** True while the source is under an automatic block or an explicit deny. */
  isDenied(source: string): Promise<boolean>
  /** Denies the source for `ms` (a "not me" report), whatever its counts. */
  deny(source: string, ms: number): Promise<void>
  /** How long the source stays denied, in ms (0: not denied). */
  deniedForMs(source: string): Promise<number>
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

/** Prefix of an ASN source (`asn:64500`): counted with the ASN thresholds. */
export const ASN_SOURCE = 'asn:'

/**
 * The sources one client counts under: its network key and, when known, its ASN.
 *
 * @example
 * sourcesOf('203.0.113.7', 64500) // ['203.0.113.7', 'asn:64500']
 */
export const sourcesOf = (network: string | undefined, asn: number | undefined): string[] => [
  ...(network === undefined ? [] : [network]),
  ...(asn === undefined ? [] : [`${ASN_SOURCE}${asn}`]),
]

/** The network key of an address, or the text itself when it already is one (e.g. `2001:db8::/64`). */
export const sourceKeyOf = (source: string): string => {
  if (source.startsWith(ASN_SOURCE)) return source
  const address = parseAddress(source)
  return address === null ? source : rateKeyOf(address)
}

/**
 * Builds the guard.
 *
 * @example
 * const abuse = abuseGuard({ counters: store.counters, kv: store.kv, clock, thresholds: DEFAULT_ABUSE_PER_IP })
 * if (await abuse.isDenied(clientKey)) throw new RelayError('NETWORK_DENIED')
 */
export const abuseGuard = (deps: {
  counters: CounterStore
  kv: KvStore
  clock: Clock
  thresholds: AbuseThresholds
  /** For `asn:` sources; default the per-IP thresholds ×10 (many honest users share an ASN). */
  asnThresholds?: AbuseThresholds
}): AbuseGuard => {
  const { counters, kv, clock } = deps
  const perAsn = deps.asnThresholds ?? { ...DEFAULT_ABUSE_PER_ASN, windowMs: deps.thresholds.windowMs }
  const thresholdsOf = (key: string): AbuseThresholds => (key.startsWith(ASN_SOURCE) ? perAsn : deps.thresholds)
  const counterKey = (key: string, window: number, signal: AbuseSignal) => `abuse:${key}:${window}:${signal}`
  const recordKey = (key: string) => `abuse-record:${key}`
  const denyKey = (key: string) => `abuse-deny:${key}`
  // A record outlives its longest block and its strikes' decay.
  const recordTtlMs = (t: AbuseThresholds) => t.maxBlockMs + t.strikeDecayMs * 8

  const countsOf = async (key: string, window: number): Promise<AbuseCounts> => {
    const values = await Promise.all(SIGNALS.map((signal) => counters.read(counterKey(key, window, signal))))
    const counts: AbuseCounts = { channelsCreated: 0, channelsCompleted: 0, refusedJoins: 0, checkCodeAborts: 0, declinedApprovals: 0 }
    SIGNALS.forEach((signal, i) => (counts[SIGNAL_FIELD[signal]] = values[i] ?? 0))
    return counts
  }

  /** Decides the source now and stores a new strike, if any; the remaining block in ms. */
  const judge = async (key: string): Promise<number> => {
    const t = thresholdsOf(key)
    for (let attempt = 0; attempt < MAX_CAS_TRIES; attempt++) {
      const now = clock.now()
      const window = abuseWindowIndex(now, t)
      const raw = await kv.get(recordKey(key))
      const record = raw === null ? null : (JSON.parse(raw) as AbuseRecord)
      const decision = decideAbuse(await countsOf(key, window), window, record, t, now)
      if (decision.next === null || decision.next === record) return decision.retryAfterMs
      const text = JSON.stringify(decision.next)
      if (raw === null) {
        await kv.put(recordKey(key), text, recordTtlMs(t))
        return decision.retryAfterMs
      }
      if ((await kv.replaceIfMatch(recordKey(key), raw, text)) === 'ok') return decision.retryAfterMs
    }
    return 0
  }

  const deniedForMs = async (source: string): Promise<number> => {
    const key = sourceKeyOf(source)
    const until = Number(await kv.get(denyKey(key)))
    const explicit = Number.isFinite(until) && until > clock.now() ? until - clock.now() : 0
    return Math.max(explicit, await judge(key))
  }

  return {
    async record(source, signal) {
      if (source === '' || source === 'unknown') return
      const key = sourceKeyOf(source)
      const t = thresholdsOf(key)
      const window = abuseWindowIndex(clock.now(), t)
      try {
        await counters.increment(counterKey(key, window, signal), 2 * t.windowMs)
      } catch {
        // Accounting is best effort: a store hiccup must not fail the request that was counted.
      }
    },
    async isDenied(source) {
      if (source === '' || source === 'unknown') return false
      return (await deniedForMs(source)) > 0
    },
    deniedForMs,
    async deny(source, ms) {
      if (source === '' || source === 'unknown' || !(ms > 0)) return
      await kv.put(denyKey(sourceKeyOf(source)), String(clock.now() + ms), ms)
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
  deps: { counters: CounterStore; kv: KvStore; clock: Clock },
): AbuseGuard | undefined => (abuse.enabled ? abuseGuard({ ...deps, thresholds: abuseThresholdsOf(abuse) }) : undefined)
