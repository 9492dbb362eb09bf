import { describe, expect, it } from 'vitest'
import { DEFAULT_RISK, decideRisk, stepUpFlows, type RiskInput } from '../../../../src/core/policy/risk.ts'
import type { ProximityRelation, ProximityVerdict } from '../../../../src/core/policy/proximity.ts'
import type { ApproverProblem } from '../../../../src/core/policy/trusted-device.ts'

const proximity = (relation: ProximityRelation, extra: Partial<ProximityVerdict> = {}): ProximityVerdict => ({
  relation,
  inconsistent: false,
  disagreements: [],
  compared: { newDevice: 1, approver: 1 },
  ...extra,
})

const input = (over: Partial<RiskInput> = {}, problems: ApproverProblem[] = []): RiskInput => ({
  networkLists: { denied: false, trusted: false },
  abuseDenied: false,
  approver: { trusted: problems.length === 0, problems },
  proximity: proximity('same_ip'),
  factors: { totpEnrolled: true, recoveryCodesLeft: 8 },
  ...over,
})

const TOTP_OR_RECOVERY = [['m.login.2fa.totp'], ['m.login.2fa.recovery']]

describe('decideRisk', () => {
  it.each<[ProximityRelation, string]>([
    ['same_ip', 'allow'],
    ['same_prefix', 'allow'],
    ['same_asn', 'step_up'],
    ['nearby', 'allow'],
    ['regional', 'step_up'],
    ['unknown', 'step_up'],
    ['far', 'deny'],
  ])('maps proximity %s to %s by default', (relation, action) => {
    expect(decideRisk(input({ proximity: proximity(relation) })).action).toBe(action)
  })

  it('asks for TOTP or a recovery code when proximity is unverified', () => {
    expect(decideRisk(input({ proximity: proximity('unknown') }))).toEqual({
      action: 'step_up',
      reasons: ['proximity_unverified'],
      flows: TOTP_OR_RECOVERY,
    })
  })

  it('finding 58: asks for the password, never a recovery code, when codes are stored but TOTP is off', () => {
    const leftovers = { factors: { totpEnrolled: false, recoveryCodesLeft: 10 } }
    expect(decideRisk(input({ ...leftovers, proximity: proximity('unknown') }))).toEqual({
      action: 'step_up',
      reasons: ['proximity_unverified'],
      flows: [['m.login.password']],
    })
    expect(decideRisk(input(leftovers, ['approver_auth_stale']))).toMatchObject({ flows: [['m.login.password']] })
  })

  it('denies far-away approvals with far_away, or steps up when configured', () => {
    expect(decideRisk(input({ proximity: proximity('far') }))).toEqual({ action: 'deny', reason: 'far_away' })
    const lenient = { ...DEFAULT_RISK, farAction: 'step_up' as const }
    expect(decideRisk(input({ proximity: proximity('far') }), lenient)).toMatchObject({ action: 'step_up', reasons: ['far_away'] })
  })

  it('denies a new device whose own networks are far apart', () => {
    const split = proximity('same_ip', {
      inconsistent: true,
      disagreements: [{ first: 'channel_create', second: 'device_authorization', relation: 'far', distanceKm: 9000 }],
    })
    expect(decideRisk(input({ proximity: split }))).toEqual({ action: 'deny', reason: 'networks_inconsistent' })
  })

  it('steps up a new device whose networks merely disagree', () => {
    const dualStack = proximity('same_ip', {
      inconsistent: true,
      disagreements: [{ first: 'channel_create', second: 'poll', relation: 'unknown' }],
    })
    expect(decideRisk(input({ proximity: dualStack }))).toMatchObject({ action: 'step_up', reasons: ['networks_inconsistent'] })
    expect(decideRisk(input({ proximity: dualStack }), { ...DEFAULT_RISK, inconsistentAction: 'allow' })).toEqual({ action: 'allow' })
  })

  it('refuses before anything else, in a fixed order', () => {
    const all = input({ networkLists: { denied: true, trusted: false }, abuseDenied: true, proximity: proximity('far') }, [
      'approver_quarantined',
      'approver_too_new',
      'approver_auth_stale',
    ])
    expect(decideRisk(all)).toEqual({ action: 'deny', reason: 'network_denied' })
    expect(decideRisk({ ...all, networkLists: { denied: false, trusted: true } })).toEqual({ action: 'deny', reason: 'abuse_blocked' })
    expect(decideRisk({ ...all, networkLists: { denied: false, trusted: false }, abuseDenied: false })).toEqual({
      action: 'deny',
      reason: 'approver_quarantined',
    })
    expect(decideRisk(input({}, ['approver_too_new']))).toEqual({ action: 'deny', reason: 'approver_too_new' })
  })

  it('skips proximity doubts inside trusted networks', () => {
    const trusted = input({ networkLists: { denied: false, trusted: true }, proximity: proximity('far') })
    expect(decideRisk(trusted)).toEqual({ action: 'allow' })
  })

  it('asks for the password when the approver authenticated too long ago', () => {
    expect(decideRisk(input({}, ['approver_auth_stale']))).toEqual({
      action: 'step_up',
      reasons: ['approver_auth_stale'],
      flows: [['m.login.password']],
    })
  })

  it('asks for the password then a second factor when both apply', () => {
    expect(decideRisk(input({ proximity: proximity('unknown') }, ['approver_auth_stale']))).toMatchObject({
      action: 'step_up',
      reasons: ['proximity_unverified', 'approver_auth_stale'],
      flows: [
        ['m.login.password', 'm.login.2fa.totp'],
        ['m.login.password', 'm.login.2fa.recovery'],
      ],
    })
  })

  it('honours a stricter proximity threshold', () => {
    const strict = { ...DEFAULT_RISK, allowAtLeast: 'same_prefix' as const }
    expect(decideRisk(input({ proximity: proximity('nearby') }), strict).action).toBe('step_up')
    expect(decideRisk(input({ proximity: proximity('same_prefix') }), strict).action).toBe('allow')
  })
})

describe('stepUpFlows', () => {
  it('offers only the factors the account has', () => {
    expect(stepUpFlows(['proximity_unverified'], { totpEnrolled: true, recoveryCodesLeft: 0 })).toEqual([['m.login.2fa.totp']])
    expect(stepUpFlows(['proximity_unverified'], { totpEnrolled: true, recoveryCodesLeft: 3 })).toEqual([
      ['m.login.2fa.totp'],
      ['m.login.2fa.recovery'],
    ])
  })

  it('finding 58: never offers recovery codes while TOTP is off, whatever codes are stored: the password is asked', () => {
    expect(stepUpFlows(['proximity_unverified'], { totpEnrolled: false, recoveryCodesLeft: 3 })).toEqual([['m.login.password']])
    expect(stepUpFlows(['far_away', 'approver_auth_stale'], { totpEnrolled: false, recoveryCodesLeft: 10 })).toEqual([['m.login.password']])
  })

  it('falls back to the password when the account has no second factor', () => {
    expect(stepUpFlows(['far_away'], { totpEnrolled: false, recoveryCodesLeft: 0 })).toEqual([['m.login.password']])
    expect(stepUpFlows(['far_away', 'approver_auth_stale'], { totpEnrolled: false, recoveryCodesLeft: 0 })).toEqual([['m.login.password']])
  })
})
