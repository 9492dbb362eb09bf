import { describe, expect, it } from 'vitest'
import {
  DEFAULT_ABUSE_PER_ASN,
  DEFAULT_ABUSE_PER_IP,
  abuseWindowIndex,
  asnThresholdsOf,
  decayedStrikes,
  decideAbuse,
  tripReason,
  type AbuseCounts,
  type AbuseRecord,
} from '../../../../src/core/policy/abuse.ts'

const T = DEFAULT_ABUSE_PER_IP
const NOW = Date.UTC(2026, 0, 1, 10)
const MIN = 60_000
const ZERO: AbuseCounts = { channelsCreated: 0, channelsCompleted: 0, refusedJoins: 0, checkCodeAborts: 0, declinedApprovals: 0 }
const counts = (over: Partial<AbuseCounts>): AbuseCounts => ({ ...ZERO, ...over })
const W = abuseWindowIndex(NOW, T)

describe('tripReason', () => {
  it('trips on each counter at its limit, not below', () => {
    expect(tripReason(counts({ refusedJoins: 9 }), T)).toBeNull()
    expect(tripReason(counts({ refusedJoins: 10 }), T)).toBe('refused_joins')
    expect(tripReason(counts({ checkCodeAborts: 5 }), T)).toBe('check_code_aborts')
    expect(tripReason(counts({ declinedApprovals: 5 }), T)).toBe('declined_approvals')
  })

  it('judges the completion ratio only past the minimum number of creations', () => {
    expect(tripReason(counts({ channelsCreated: 149 }), T)).toBeNull()
    expect(tripReason(counts({ channelsCreated: 150, channelsCompleted: 14 }), T)).toBe('low_completion')
    expect(tripReason(counts({ channelsCreated: 150, channelsCompleted: 15 }), T)).toBeNull()
  })

  it('leaves room for five kiosks re-creating their QR every 2 min (30 uncompleted an hour each)', () => {
    expect(tripReason(counts({ channelsCreated: 5 * 30 - 1 }), T)).toBeNull()
  })

  it('derives the ASN thresholds as ten times the per-IP ones', () => {
    expect(asnThresholdsOf(T)).toEqual(DEFAULT_ABUSE_PER_ASN)
    expect(asnThresholdsOf({ ...T, minCreatedForRatio: 20 }).minCreatedForRatio).toBe(200)
  })

  it('allows ten times more per ASN', () => {
    expect(tripReason(counts({ refusedJoins: 10 }), DEFAULT_ABUSE_PER_ASN)).toBeNull()
    expect(tripReason(counts({ refusedJoins: 100 }), DEFAULT_ABUSE_PER_ASN)).toBe('refused_joins')
  })
})

describe('decideAbuse', () => {
  it('allows a quiet source and stores nothing', () => {
    expect(decideAbuse(counts({ channelsCreated: 3, channelsCompleted: 3 }), W, null, T, NOW)).toEqual({
      denied: false,
      retryAfterMs: 0,
      next: null,
    })
  })

  it('denies for the base block on a first strike, then lets the source back', () => {
    const first = decideAbuse(counts({ checkCodeAborts: 5 }), W, null, T, NOW)
    expect(first).toMatchObject({ denied: true, retryAfterMs: 10 * MIN, reason: 'check_code_aborts' })
    const record = first.next as AbuseRecord
    expect(decideAbuse(counts({ checkCodeAborts: 5 }), W, record, T, NOW + 5 * MIN)).toMatchObject({
      denied: true,
      retryAfterMs: 5 * MIN,
    })
    // Block over, same window, nothing new: the same events do not strike twice.
    expect(decideAbuse(counts({ checkCodeAborts: 5 }), W, record, T, NOW + 10 * MIN).denied).toBe(false)
  })

  it('doubles the block for each strike that follows soon', () => {
    let record: AbuseRecord | null = null
    let at = NOW
    const blocks: number[] = []
    for (let i = 0; i < 4; i++) {
      const d = decideAbuse(counts({ refusedJoins: 10 * (i + 1) }), W, record, T, at)
      blocks.push(d.retryAfterMs)
      record = d.next
      at = (record as AbuseRecord).blockedUntilMs
    }
    expect(blocks).toEqual([10 * MIN, 20 * MIN, 40 * MIN, 80 * MIN])
  })

  it('never blocks longer than the maximum', () => {
    const record: AbuseRecord = {
      strikes: 30,
      lastStrikeAtMs: NOW - 1,
      blockedUntilMs: NOW - 1,
      reason: 'refused_joins',
      struckWindow: W - 1,
      countsAtStrike: ZERO,
    }
    expect(decideAbuse(counts({ refusedJoins: 10 }), W, record, T, NOW).retryAfterMs).toBe(T.maxBlockMs)
  })

  it('forgives one strike per decay period', () => {
    const record: AbuseRecord = {
      strikes: 3,
      lastStrikeAtMs: NOW,
      blockedUntilMs: NOW,
      reason: 'refused_joins',
      struckWindow: W,
      countsAtStrike: ZERO,
    }
    expect(decayedStrikes(record, T, NOW + T.strikeDecayMs - 1)).toBe(3)
    expect(decayedStrikes(record, T, NOW + 2 * T.strikeDecayMs)).toBe(1)
    expect(decayedStrikes(record, T, NOW + 10 * T.strikeDecayMs)).toBe(0)
    const later = NOW + 3 * T.strikeDecayMs
    const d = decideAbuse(counts({ refusedJoins: 10 }), abuseWindowIndex(later, T), record, T, later)
    expect(d.retryAfterMs).toBe(T.baseBlockMs)
  })

  it('judges a new window on its own counts', () => {
    const first = decideAbuse(counts({ declinedApprovals: 5 }), W, null, T, NOW).next as AbuseRecord
    const nextWindow = NOW + T.windowMs
    expect(decideAbuse(counts({ declinedApprovals: 1 }), W + 1, first, T, nextWindow).denied).toBe(false)
    expect(decideAbuse(counts({ declinedApprovals: 5 }), W + 1, first, T, nextWindow)).toMatchObject({
      denied: true,
      retryAfterMs: 20 * MIN,
    })
  })
})
