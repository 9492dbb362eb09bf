import { describe, expect, it } from 'vitest'
import { DEFAULT_TRUSTED_DEVICE, judgeApprover } from '../../../../src/core/policy/trusted-device.ts'

const NOW = Date.UTC(2026, 0, 1)
const DAY = 86_400_000
const rules = DEFAULT_TRUSTED_DEVICE

describe('judgeApprover', () => {
  const settled = { device: { quarantineUntilMs: 0, createdAtMs: NOW - 30 * DAY }, lastAuthenticatedAtMs: NOW - DAY }

  it('trusts an old, unquarantined, recently authenticated device', () => {
    expect(judgeApprover(settled, rules, NOW)).toEqual({ trusted: true, problems: [] })
  })

  it('refuses a quarantined approver until its quarantine ends', () => {
    const q = { ...settled, device: { ...settled.device, quarantineUntilMs: NOW + 1 } }
    expect(judgeApprover(q, rules, NOW).problems).toEqual(['approver_quarantined'])
    expect(judgeApprover(q, rules, NOW + 1).trusted).toBe(true)
  })

  it('refuses a device younger than the minimum age', () => {
    const young = { ...settled, device: { ...settled.device, createdAtMs: NOW - rules.minDeviceAgeMs + 1 } }
    expect(judgeApprover(young, rules, NOW).problems).toEqual(['approver_too_new'])
    expect(judgeApprover(young, rules, NOW + 1).trusted).toBe(true)
  })

  it('flags an approver whose last authentication is too old', () => {
    const stale = { ...settled, lastAuthenticatedAtMs: NOW - rules.maxAuthAgeMs - 1 }
    expect(judgeApprover(stale, rules, NOW).problems).toEqual(['approver_auth_stale'])
    expect(judgeApprover({ ...stale, lastAuthenticatedAtMs: NOW - rules.maxAuthAgeMs }, rules, NOW).trusted).toBe(true)
  })

  it('lists every problem, in a stable order', () => {
    const worst = { device: { quarantineUntilMs: NOW + DAY, createdAtMs: NOW }, lastAuthenticatedAtMs: 0 }
    expect(judgeApprover(worst, rules, NOW).problems).toEqual(['approver_quarantined', 'approver_too_new', 'approver_auth_stale'])
  })
})
