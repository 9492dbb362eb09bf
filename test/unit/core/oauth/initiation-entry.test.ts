/**
 * Request-initiation verification on a grant: an approved grant with an open initiation challenge is
 * not redeemable and polls as pending; the right code unlocks it, wrong codes spend attempts, and the
 * last one declines the grant.
 */
import { describe, expect, it } from 'vitest'
import {
  approveGrant,
  awaitsInitiationCode,
  createGrant,
  enterInitiationCode,
  redeemGrant,
  type DeviceGrant,
} from '../../../../src/core/oauth/device-grant.ts'
import { decidePoll } from '../../../../src/core/oauth/polling.ts'
import { createInitiationChallenge, DEFAULT_INITIATION } from '../../../../src/core/policy/initiation.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

const NOW = Date.UTC(2026, 0, 1)
const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
const BINDING = 'q2m2Wc0V8qv8fV8xW2bQ7c9sTqkWq8dVxZl3nYQ1rG4'

const approvedWithCode = (): { grant: DeviceGrant; code: string } => {
  const created = createGrant(seededRandom(3), NOW, {
    ttlMs: 300_000,
    intervalSeconds: 5,
    scope: 'device',
    dpopJkt: JKT,
    channelBinding: BINDING,
  })
  if (!created.ok) throw new Error(created.code)
  const approved = approveGrant(created.value.grant, { accountId: 'a', deviceId: 'd', channelBinding: BINDING, dpopJkt: JKT }, NOW + 1_000)
  if (!approved.ok) throw new Error(approved.code)
  const { code, challenge } = createInitiationChallenge(seededRandom(4), NOW + 1_000, DEFAULT_INITIATION)
  return { grant: { ...approved.value, initiation: challenge }, code }
}

describe('initiation code on a grant', () => {
  it('keeps an approved grant pending and unredeemable until the code is entered', () => {
    const { grant, code } = approvedWithCode()
    expect(awaitsInitiationCode(grant)).toBe(true)
    expect(decidePoll(grant, JKT, NOW + 2_000).decision.kind).toBe('authorization_pending')
    expect(redeemGrant(grant, JKT, NOW + 2_000)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
    const { verdict, next } = enterInitiationCode(grant, code, NOW + 3_000)
    expect(verdict).toBe('verified')
    expect(awaitsInitiationCode(next)).toBe(false)
    expect(decidePoll(next, JKT, NOW + 9_000).decision.kind).toBe('issue')
  })

  it('declines the grant on the last wrong code, and a burnt code never verifies', () => {
    let { grant, code } = approvedWithCode()
    const wrong = code === '000000' ? '111111' : '000000'
    const verdicts: string[] = []
    for (let i = 0; i < DEFAULT_INITIATION.maxAttempts; i++) {
      const entry = enterInitiationCode(grant, wrong, NOW + 2_000 + i)
      verdicts.push(entry.verdict)
      grant = entry.next
    }
    expect(verdicts.at(-1)).toBe('burned')
    expect(grant.state.kind).toBe('declined')
    expect(enterInitiationCode(grant, code, NOW + 3_000).verdict).toBe('burned')
    expect(decidePoll(grant, JKT, NOW + 9_000).decision.kind).toBe('access_denied')
  })

  it('answers not_required for a grant without a challenge, and expired past the grant lifetime', () => {
    const { grant, code } = approvedWithCode()
    const { initiation: _, ...plain } = grant
    expect(enterInitiationCode(plain, code, NOW).verdict).toBe('not_required')
    expect(enterInitiationCode(grant, code, NOW + 300_000).verdict).toBe('expired')
  })
})
