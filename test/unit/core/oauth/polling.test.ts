import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { approveGrant, createGrant, declineGrant, withRedemptionPlan, type DeviceGrant } from '../../../../src/core/oauth/device-grant.ts'
import { DEFAULT_POLLING, decidePoll, isTooFast } from '../../../../src/core/oauth/polling.ts'
import { planRedemption, REDEMPTION_RETRY_GRACE_MS } from '../../../../src/core/oauth/redemption-plan.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

const NOW = Date.UTC(2026, 0, 1)
const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
const BINDING = 'binding-value'
const TTL_MS = 24 * 60 * 60 * 1000

const pending = (intervalSeconds = 5, seed = 1): DeviceGrant => {
  const r = createGrant(seededRandom(seed), NOW, { ttlMs: TTL_MS, intervalSeconds, scope: 's', dpopJkt: JKT, channelBinding: BINDING })
  if (!r.ok) throw new Error(r.code)
  return r.value.grant
}

const approve = (grant: DeviceGrant, at: number): DeviceGrant => {
  const r = approveGrant(grant, { accountId: 'a', deviceId: 'PHONE', channelBinding: BINDING, dpopJkt: JKT }, at)
  if (!r.ok) throw new Error(r.code)
  return r.value
}

/** Polls at the given gaps and returns every decision kind and the final grant. */
const pollAt = (grant: DeviceGrant, gapsMs: readonly number[]) => {
  let at = NOW
  let current = grant
  const kinds: string[] = []
  for (const gap of gapsMs) {
    at += gap
    const { decision, next } = decidePoll(current, JKT, at)
    kinds.push(decision.kind)
    current = next
  }
  return { kinds, grant: current }
}

describe('decidePoll', () => {
  it('answers authorization_pending while pending and records the poll', () => {
    const { decision, next } = decidePoll(pending(), JKT, NOW)
    expect(decision).toEqual({ kind: 'authorization_pending' })
    expect(next.lastPollAtMs).toBe(NOW)
  })

  it('never slows the first poll, however soon after creation', () => {
    expect(decidePoll(pending(), JKT, NOW).decision.kind).toBe('authorization_pending')
  })

  it('slows a client that polls too soon, by 5 s on this grant', () => {
    const first = decidePoll(pending(), JKT, NOW).next
    const { decision, next } = decidePoll(first, JKT, NOW + 1000)
    expect(decision).toEqual({ kind: 'slow_down', intervalSeconds: 10 })
    expect(next.intervalSeconds).toBe(10)
  })

  it('accepts a poll up to 10 % early, and slows one just earlier', () => {
    const first = decidePoll(pending(), JKT, NOW).next
    expect(decidePoll(first, JKT, NOW + 4500).decision.kind).toBe('authorization_pending')
    expect(decidePoll(first, JKT, NOW + 4499).decision.kind).toBe('slow_down')
  })

  it('caps the interval', () => {
    const { grant } = pollAt(pending(), [0, ...Array.from({ length: 40 }, () => 10)])
    expect(grant.intervalSeconds).toBe(DEFAULT_POLLING.maxIntervalSeconds)
  })

  it('issues an approved grant once, then refuses the device code', () => {
    const first = decidePoll(approve(pending(), NOW), JKT, NOW + 5000)
    expect(first.decision).toEqual({ kind: 'issue', approval: { accountId: 'a', deviceId: 'PHONE', atMs: NOW } })
    expect(first.next.state.kind).toBe('redeemed')
    expect(decidePoll(first.next, JKT, NOW + 10_000).decision).toEqual({ kind: 'invalid_grant', reason: 'already_redeemed' })
  })

  it("hands the approval's sign-in epoch to the mint, on the first poll and on a resume (finding 47)", () => {
    const given = approveGrant(pending(), { accountId: 'a', deviceId: 'PHONE', channelBinding: BINDING, dpopJkt: JKT, authEpoch: 2 }, NOW)
    if (!given.ok) throw new Error(given.code)
    const first = decidePoll(given.value, JKT, NOW + 5000)
    expect(first.decision).toEqual({ kind: 'issue', approval: { accountId: 'a', deviceId: 'PHONE', atMs: NOW, authEpoch: 2 } })
    const { plan } = planRedemption(seededRandom(3), 'device-code')
    expect(decidePoll(withRedemptionPlan(first.next, plan), JKT, NOW + 5001).decision).toMatchObject({
      kind: 'resume',
      approval: { authEpoch: 2 },
    })
  })

  it('resumes a redemption with a plan, by the same key and within the grace only', () => {
    const first = decidePoll(approve(pending(), NOW), JKT, NOW + 5000)
    const { plan } = planRedemption(seededRandom(3), 'device-code')
    const redeemed = withRedemptionPlan(first.next, plan)
    const approval = { accountId: 'a', deviceId: 'PHONE', atMs: NOW }
    // Right away (a concurrent poll), and until the grace ends: the same plan, the grant untouched.
    for (const at of [NOW + 5000, NOW + 5000 + REDEMPTION_RETRY_GRACE_MS - 1]) {
      const again = decidePoll(redeemed, JKT, at)
      expect(again.decision).toEqual({ kind: 'resume', approval, plan })
      expect(again.next).toBe(redeemed)
    }
    // Another process's clock a little behind still counts as within.
    expect(decidePoll(redeemed, JKT, NOW + 4000).decision.kind).toBe('resume')
    expect(decidePoll(redeemed, JKT, NOW + 5000 + REDEMPTION_RETRY_GRACE_MS).decision).toEqual({
      kind: 'invalid_grant',
      reason: 'already_redeemed',
    })
    expect(decidePoll(redeemed, 'another-key', NOW + 6000).decision).toEqual({ kind: 'invalid_grant', reason: 'wrong_key' })
    // A grant redeemed without a plan (stored before plans existed) is spent at once.
    expect(decidePoll(first.next, JKT, NOW + 6000).decision.kind).toBe('invalid_grant')
  })

  it('keeps a plan only on a redeemed grant', () => {
    const { plan } = planRedemption(seededRandom(3), 'device-code')
    const approved = approve(pending(), NOW)
    expect(withRedemptionPlan(approved, plan)).toBe(approved)
  })

  it('answers access_denied when declined', () => {
    const declined = declineGrant(pending(), NOW)
    if (!declined.ok) throw new Error(declined.code)
    expect(decidePoll(declined.value, JKT, NOW + 5000).decision).toEqual({ kind: 'access_denied' })
  })

  it('answers expired_token at expiry and marks the grant expired', () => {
    const grant = approve(pending(), NOW)
    const { decision, next } = decidePoll(grant, JKT, grant.expiresAtMs)
    expect(decision).toEqual({ kind: 'expired_token' })
    expect(next.state.kind).toBe('expired')
    expect(decidePoll(next, JKT, grant.expiresAtMs + 5000).decision).toEqual({ kind: 'expired_token' })
  })

  it('refuses another key without touching the grant', () => {
    const grant = decidePoll(pending(), JKT, NOW).next
    const stranger = decidePoll(grant, 'stranger-key', NOW + 100)
    expect(stranger.decision).toEqual({ kind: 'invalid_grant', reason: 'wrong_key' })
    expect(stranger.next).toBe(grant)
    expect(decidePoll(approve(grant, NOW), 'stranger-key', NOW + 5000).decision.kind).toBe('invalid_grant')
  })
})

describe('slow_down properties', () => {
  const interval = fc.integer({ min: 1, max: 30 })

  it('never slows nor locks out a client polling at ≥ interval less 10 % jitter', () => {
    fc.assert(
      fc.property(interval, fc.array(fc.double({ min: 0.9, max: 3, noNaN: true }), { minLength: 1, maxLength: 40 }), (seconds, factors) => {
        const gaps = [0, ...factors.map((f) => Math.ceil(f * seconds * 1000))]
        const { kinds, grant } = pollAt(pending(seconds), gaps)
        expect(kinds.every((k) => k === 'authorization_pending')).toBe(true)
        expect(grant.intervalSeconds).toBe(seconds)
      }),
    )
  })

  it('slows a client polling faster than its interval', () => {
    fc.assert(
      fc.property(interval, fc.double({ min: 0, max: 0.89, noNaN: true }), (seconds, factor) => {
        const gap = Math.floor(factor * seconds * 1000)
        const { kinds, grant } = pollAt(pending(seconds), [0, gap])
        expect(kinds).toEqual(['authorization_pending', 'slow_down'])
        expect(grant.intervalSeconds).toBe(Math.min(60, seconds + 5))
      }),
    )
  })

  it('never slows the first poll', () => {
    fc.assert(
      fc.property(interval, fc.integer({ min: 0, max: TTL_MS - 1 }), (seconds, at) => {
        expect(decidePoll(pending(seconds), JKT, NOW + at).decision.kind).toBe('authorization_pending')
      }),
    )
  })

  it('grows the interval only for the offending grant', () => {
    fc.assert(
      fc.property(interval, fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }), (seconds, fastSteps) => {
        // Two grants polled side by side: A sometimes too fast, B always on time (on B's own interval).
        let a = decidePoll(pending(seconds, 1), JKT, NOW).next
        let b = decidePoll(pending(seconds, 2), JKT, NOW).next
        let at = NOW
        let aSlowed = 0
        for (const fast of fastSteps) {
          at += fast ? 0 : a.intervalSeconds * 1000
          const ra = decidePoll(a, JKT, at)
          if (ra.decision.kind === 'slow_down') aSlowed++
          a = ra.next
          const bAt = (b.lastPollAtMs ?? NOW) + b.intervalSeconds * 1000
          const rb = decidePoll(b, JKT, Math.max(bAt, at))
          expect(rb.decision.kind).toBe('authorization_pending')
          b = rb.next
        }
        expect(b.intervalSeconds).toBe(seconds)
        expect(a.intervalSeconds).toBe(Math.min(60, seconds + 5 * aSlowed))
        expect(aSlowed).toBe(fastSteps.filter(Boolean).length)
      }),
    )
  })

  it('treats isTooFast as false before any poll', () => {
    expect(isTooFast(pending(), NOW)).toBe(false)
  })
})
