import { describe, expect, it } from 'vitest'
import { parseDeviceToken } from '../../../../src/core/auth/device-token.ts'
import { hashSecret } from '../../../../src/core/crypto/secrets.ts'
import {
  openRedemptionPlan,
  planRedemption,
  withinRedemptionGrace,
  REDEMPTION_RETRY_GRACE_MS,
} from '../../../../src/core/oauth/redemption-plan.ts'
import { fakeClock } from '../../../helpers/fake-clock.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

const CODE = 'the-device-code-of-this-grant'

describe('redemption plan', () => {
  it('opens, with the device code, to the very session it was made with', () => {
    const { plan, session } = planRedemption(seededRandom(1), CODE)
    const opened = openRedemptionPlan(plan, CODE)
    expect(opened?.deviceId).toBe(session.deviceId)
    expect(opened?.refresh.bearer()).toBe(session.refresh.bearer())
    expect(opened?.access.bearer()).toBe(session.access.bearer())
    // Well-formed device tokens, distinct, with their ids in the plan.
    for (const token of [session.refresh, session.access]) expect(parseDeviceToken(token.bearer()).ok).toBe(true)
    expect(session.refresh.bearer()).not.toBe(session.access.bearer())
    expect([plan.refreshId, plan.accessId, plan.deviceId]).toEqual([session.refresh.id, session.access.id, session.deviceId])
  })

  it('stores no secret: neither token nor its hash is in the plan, and another code opens other secrets', () => {
    const { plan, session } = planRedemption(seededRandom(2), CODE)
    const stored = JSON.stringify(plan)
    for (const token of [session.refresh, session.access]) {
      const secret = token.bearer().split('.')[1] as string
      expect(stored).not.toContain(secret)
      expect(stored).not.toContain(token.secretHash())
    }
    expect(stored).not.toContain(hashSecret(CODE))
    const wrong = openRedemptionPlan(plan, `${CODE}x`)
    expect(wrong?.refresh.bearer()).not.toBe(session.refresh.bearer())
    expect(wrong?.refresh.matches(session.refresh.secretHash())).toBe(false)
    expect(wrong?.access.matches(session.access.secretHash())).toBe(false)
  })

  it('makes a new session each time', () => {
    const random = seededRandom(3)
    const a = planRedemption(random, CODE)
    const b = planRedemption(random, CODE)
    expect(new Set([a.session.deviceId, b.session.deviceId]).size).toBe(2)
    expect(a.plan.sealed).not.toBe(b.plan.sealed)
  })

  it('refuses a malformed seal', () => {
    const { plan } = planRedemption(seededRandom(4), CODE)
    expect(openRedemptionPlan({ ...plan, sealed: 'not base64url!' }, CODE)).toBeNull()
    expect(openRedemptionPlan({ ...plan, sealed: plan.sealed.slice(0, 43) }, CODE)).toBeNull()
  })

  it('may be resumed within the grace only', () => {
    const clock = fakeClock()
    const redeemedAt = clock.now()
    expect(withinRedemptionGrace(redeemedAt, clock.now())).toBe(true)
    clock.advance(REDEMPTION_RETRY_GRACE_MS - 1)
    expect(withinRedemptionGrace(redeemedAt, clock.now())).toBe(true)
    clock.advance(1)
    expect(withinRedemptionGrace(redeemedAt, clock.now())).toBe(false)
  })
})
