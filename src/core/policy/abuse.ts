/**
 * Abuse counters → automatic, decaying deny (BCP "detect and remediate"). Per source (an IP key or an
 * ASN) the caller counts, in fixed windows of `windowMs`, channels created and completed, joins refused
 * (a third party on a claimed channel), check-code aborts and declined approvals. This file decides:
 *
 * - A window *trips* when a count reaches its limit, or when enough channels were created and too few
 *   of them completed (a phishing kit creates many, completes none).
 * - A trip is a *strike*: the source is denied for `baseBlockMs × 2^(strikes − 1)`, at most `maxBlockMs`.
 * - Strikes decay: one is forgiven per `strikeDecayMs` without a new one, so an address that stops
 *   misbehaving is soon treated as new (IPs get reassigned).
 * - One window's counts strike once: after the block, only what was counted since the strike can trip
 *   again within the same window (the source is not punished twice for the same events).
 *
 * Pure: the caller stores the returned {@link AbuseRecord} per source and passes it back.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (detect and remediate)
 */

/** What was counted for one source in the current window. */
export interface AbuseCounts {
  channelsCreated: number
  channelsCompleted: number
  refusedJoins: number
  checkCodeAborts: number
  declinedApprovals: number
}

/** Limits per window and the shape of the deny. */
export interface AbuseThresholds {
  /** Length of a counting window. Default 1 h. */
  windowMs: number
  /**
   * The completion ratio is judged only from this many creations on. Default 150 per hour: a kiosk or
   * web page re-creating its QR every 2 min makes 30 uncompleted channels an hour, so five of them
   * behind one address stay below; a kit creating 1 000 an hour trips within 10 minutes.
   */
  minCreatedForRatio: number
  /** Below this completed/created ratio the window trips. Default 0.1. */
  minCompletionRatio: number
  /** Default 10. */
  maxRefusedJoins: number
  /** Default 5. */
  maxCheckCodeAborts: number
  /** Default 5. */
  maxDeclinedApprovals: number
  /** Deny after a first strike. Default 10 minutes. */
  baseBlockMs: number
  /** Longest deny. Default 24 h. */
  maxBlockMs: number
  /** One strike is forgiven per this long without a new one. Default 6 h. */
  strikeDecayMs: number
}

/** Defaults for one IP key (an IPv4 address or an IPv6 /64). */
export const DEFAULT_ABUSE_PER_IP: Readonly<AbuseThresholds> = {
  windowMs: 60 * 60 * 1000,
  minCreatedForRatio: 150,
  minCompletionRatio: 0.1,
  maxRefusedJoins: 10,
  maxCheckCodeAborts: 5,
  maxDeclinedApprovals: 5,
  baseBlockMs: 10 * 60 * 1000,
  maxBlockMs: 24 * 60 * 60 * 1000,
  strikeDecayMs: 6 * 60 * 60 * 1000,
}

/** Defaults for one ASN: ten times the IP counts (many honest users share an ASN), same ratio. */
export const asnThresholdsOf = (perIp: AbuseThresholds): AbuseThresholds => ({
  ...perIp,
  minCreatedForRatio: perIp.minCreatedForRatio * 10,
  maxRefusedJoins: perIp.maxRefusedJoins * 10,
  maxCheckCodeAborts: perIp.maxCheckCodeAborts * 10,
  maxDeclinedApprovals: perIp.maxDeclinedApprovals * 10,
})

/** {@link asnThresholdsOf} the per-IP defaults. */
export const DEFAULT_ABUSE_PER_ASN: Readonly<AbuseThresholds> = {
  ...DEFAULT_ABUSE_PER_IP,
  minCreatedForRatio: 1500,
  maxRefusedJoins: 100,
  maxCheckCodeAborts: 50,
  maxDeclinedApprovals: 50,
}

/** Why a window tripped. */
export type AbuseReason = 'low_completion' | 'refused_joins' | 'check_code_aborts' | 'declined_approvals'

/** What is stored per source between decisions. */
export interface AbuseRecord {
  strikes: number
  lastStrikeAtMs: number
  blockedUntilMs: number
  reason: AbuseReason
  /** The window of the last strike and its counts then. */
  struckWindow: number
  countsAtStrike: AbuseCounts
}

/** The decision; `next` is what to store (null: nothing to store). */
export interface AbuseDecision {
  denied: boolean
  /** 0 when not denied. */
  retryAfterMs: number
  reason?: AbuseReason
  next: AbuseRecord | null
}

/** The index of the counting window `now` falls in (use it in the counter keys). */
export const abuseWindowIndex = (now: number, thresholds: Pick<AbuseThresholds, 'windowMs'>): number =>
  Math.floor(now / thresholds.windowMs)

/** Why these counts trip, or null. */
export const tripReason = (counts: AbuseCounts, t: AbuseThresholds): AbuseReason | null => {
  if (counts.checkCodeAborts >= t.maxCheckCodeAborts) return 'check_code_aborts'
  if (counts.refusedJoins >= t.maxRefusedJoins) return 'refused_joins'
  if (counts.declinedApprovals >= t.maxDeclinedApprovals) return 'declined_approvals'
  const created = counts.channelsCreated
  const tooFewCompleted = counts.channelsCompleted < created * t.minCompletionRatio
  return created >= t.minCreatedForRatio && tooFewCompleted ? 'low_completion' : null
}

const since = (now: AbuseCounts, then: AbuseCounts): AbuseCounts => ({
  channelsCreated: Math.max(0, now.channelsCreated - then.channelsCreated),
  channelsCompleted: Math.max(0, now.channelsCompleted - then.channelsCompleted),
  refusedJoins: Math.max(0, now.refusedJoins - then.refusedJoins),
  checkCodeAborts: Math.max(0, now.checkCodeAborts - then.checkCodeAborts),
  declinedApprovals: Math.max(0, now.declinedApprovals - then.declinedApprovals),
})

/** Strikes still standing at `now` after decay. */
export const decayedStrikes = (record: AbuseRecord | null, t: AbuseThresholds, now: number): number => {
  if (record === null) return 0
  const forgiven = Math.floor(Math.max(0, now - record.lastStrikeAtMs) / t.strikeDecayMs)
  return Math.max(0, record.strikes - forgiven)
}

/**
 * Decides whether the source is denied at `now`, given this window's counts and its stored record.
 *
 * @example
 * const window = abuseWindowIndex(now, DEFAULT_ABUSE_PER_IP)
 * const d = decideAbuse(counts, window, record, DEFAULT_ABUSE_PER_IP, now)
 * if (d.next !== record) await save(d.next)
 * if (d.denied) throw new RelayError('RATE_LIMITED', { retryAfterMs: d.retryAfterMs })
 */
export const decideAbuse = (
  counts: AbuseCounts,
  window: number,
  record: AbuseRecord | null,
  t: AbuseThresholds,
  now: number,
): AbuseDecision => {
  if (record !== null && now < record.blockedUntilMs) {
    return { denied: true, retryAfterMs: record.blockedUntilMs - now, reason: record.reason, next: record }
  }
  const fresh = record !== null && record.struckWindow === window ? since(counts, record.countsAtStrike) : counts
  const reason = tripReason(fresh, t)
  if (reason === null) return { denied: false, retryAfterMs: 0, next: record }
  const strikes = decayedStrikes(record, t, now) + 1
  // 2^(strikes − 1), with the exponent bounded so the product stays finite.
  const blockMs = Math.min(t.maxBlockMs, t.baseBlockMs * 2 ** Math.min(strikes - 1, 40))
  const next: AbuseRecord = {
    strikes,
    lastStrikeAtMs: now,
    blockedUntilMs: now + blockMs,
    reason,
    struckWindow: window,
    countsAtStrike: { ...counts },
  }
  return { denied: true, retryAfterMs: blockMs, reason, next }
}
