import { describe, expect, it } from 'vitest'
import { independentReporters, MAX_REPORT_NETWORKS, notMeEvidence, notMeScope } from '../../../../src/core/policy/not-me-global.ts'
import { trustedDeviceSeenOn } from '../../../../src/core/policy/not-me.ts'

const NOW = Date.UTC(2026, 5, 1, 12)
const DAY = 86_400_000
const WEEK = 7 * DAY

const device = (createdDaysAgo: number, lastSeenNetwork?: string, quarantineUntilMs = 0) => ({
  createdAtMs: NOW - createdDaysAgo * DAY,
  quarantineUntilMs,
  lastSeenAtMs: NOW,
  ...(lastSeenNetwork === undefined ? {} : { lastSeenNetwork }),
})

describe('notMeEvidence', () => {
  it('finding 42: a report counts only when the account and one of its trusted devices are old enough', () => {
    const base = { reporterNetworks: ['198.51.100.1'], now: NOW, minAccountAgeMs: WEEK }
    expect(notMeEvidence({ ...base, accountCreatedAtMs: NOW - DAY, devices: [device(1)] })).toEqual({
      counts: false,
      reason: 'reporter_not_established',
    })
    // An old account whose only old device is still in quarantine, or whose devices are all new: no.
    expect(
      notMeEvidence({ ...base, accountCreatedAtMs: NOW - 30 * DAY, devices: [device(8, undefined, NOW + DAY), device(1)] }).counts,
    ).toBe(false)
    // A new account cannot borrow an old device's age (it cannot have one), and exactly the age counts.
    expect(notMeEvidence({ ...base, accountCreatedAtMs: NOW - WEEK, devices: [device(7, '192.0.2.5'), device(0)] })).toEqual({
      counts: true,
      networks: ['198.51.100.1', '192.0.2.5'],
    })
    expect(notMeEvidence({ ...base, accountCreatedAtMs: NOW - WEEK + 1, devices: [device(30)] }).counts).toBe(false)
  })

  it('finding 42: with no minimum age every account counts; the networks skip unknown ones and are bounded', () => {
    const many = Array.from({ length: 20 }, (_, i) => device(0, `10.0.0.${i}`))
    const evidence = notMeEvidence({
      accountCreatedAtMs: NOW,
      devices: [device(0, 'unknown'), ...many],
      reporterNetworks: [undefined, '', '198.51.100.1', '198.51.100.1'],
      now: NOW,
      minAccountAgeMs: 0,
    })
    expect(evidence.counts && evidence.networks[0]).toBe('198.51.100.1')
    expect(evidence.counts && evidence.networks).toHaveLength(MAX_REPORT_NETWORKS)
    expect(evidence.counts && evidence.networks.includes('unknown')).toBe(false)
  })

  it("finding 49: the networks include the trusted devices' recent ones within 30 days, after every last one", () => {
    const recentNetworks = [
      { network: '192.0.2.5', atMs: NOW },
      { network: '192.0.2.80', atMs: NOW - DAY },
      { network: '192.0.2.99', atMs: NOW - 31 * DAY },
    ]
    const laptop = { ...device(30, '192.0.2.5'), recentNetworks }
    const tablet = { ...device(30, '192.0.2.7', NOW + DAY), recentNetworks: [{ network: '192.0.2.66', atMs: NOW }] }
    const evidence = notMeEvidence({
      accountCreatedAtMs: NOW - 30 * DAY,
      devices: [laptop, device(30, '192.0.2.6'), tablet],
      reporterNetworks: ['198.51.100.1'],
      now: NOW,
      minAccountAgeMs: WEEK,
    })
    expect(evidence).toEqual({ counts: true, networks: ['198.51.100.1', '192.0.2.5', '192.0.2.6', '192.0.2.80'] })
  })
})

describe('independentReporters', () => {
  it('finding 42: accounts sharing a network, directly or through another, are one reporter', () => {
    expect(independentReporters({})).toEqual({ groups: 0, groupOf: {} })
    expect(independentReporters({ a: ['n1'], b: ['n2'], c: ['n3'] }).groups).toBe(3)
    expect(independentReporters({ a: ['n1'], b: ['n1', 'n2'], c: ['n3'] })).toEqual({ groups: 2, groupOf: { a: 0, b: 0, c: 1 } })
    // a–b through n1, b–c through n2: one chain.
    expect(independentReporters({ c: ['n2'], a: ['n1'], b: ['n2', 'n1'] }).groups).toBe(1)
  })
})

describe('notMeScope', () => {
  it('finding 42: global from the threshold of independent reporters, and says why it stayed with the account', () => {
    expect(notMeScope({ a: ['n1'], b: ['n2'], c: ['n3'] }, 'c', 3)).toEqual({ scope: 'global', reporters: 3 })
    expect(notMeScope({ a: ['n1'], b: ['n2'] }, 'b', 3)).toEqual({ scope: 'account', reporters: 2, keptBecause: 'below_global_threshold' })
    expect(notMeScope({ a: ['n1'], b: ['n2'], c: ['n2'] }, 'c', 3)).toEqual({
      scope: 'account',
      reporters: 2,
      keptBecause: 'shared_reporter_network',
    })
  })

  it('finding 42: a report that does not count neither starts nor extends a deny of everybody', () => {
    expect(notMeScope({ a: ['n1'], b: ['n2'], c: ['n3'] }, 'd', 3)).toEqual({
      scope: 'account',
      reporters: 3,
      keptBecause: 'reporter_not_established',
    })
    expect(notMeScope({}, 'a', 1)).toMatchObject({ scope: 'account', keptBecause: 'reporter_not_established' })
  })
})

describe('trustedDeviceSeenOn', () => {
  it('finding 42: only a device out of quarantine, last seen on that network within 30 days, vouches for it', () => {
    const seen = (over: { lastSeenNetwork?: string; lastSeenAtMs?: number; quarantineUntilMs?: number }) => ({
      lastSeenNetwork: '203.0.113.9',
      lastSeenAtMs: NOW - DAY,
      quarantineUntilMs: 0,
      ...over,
    })
    expect(trustedDeviceSeenOn([seen({})], '203.0.113.9', NOW)).toBe(true)
    expect(trustedDeviceSeenOn([seen({ lastSeenNetwork: '203.0.113.10' })], '203.0.113.9', NOW)).toBe(false)
    expect(trustedDeviceSeenOn([seen({ quarantineUntilMs: NOW + 1 })], '203.0.113.9', NOW)).toBe(false)
    expect(trustedDeviceSeenOn([seen({ lastSeenAtMs: NOW - 31 * DAY })], '203.0.113.9', NOW)).toBe(false)
  })

  it("finding 49: a network in a trusted device's recent history within 30 days vouches too", () => {
    const laptop = (officeAtMs: number, quarantineUntilMs = 0) => ({
      lastSeenNetwork: '198.51.100.1',
      lastSeenAtMs: NOW,
      quarantineUntilMs,
      recentNetworks: [
        { network: '198.51.100.1', atMs: NOW },
        { network: '192.0.2.80', atMs: officeAtMs },
      ],
    })
    expect(trustedDeviceSeenOn([laptop(NOW - 10 * 3_600_000)], '192.0.2.80', NOW)).toBe(true)
    expect(trustedDeviceSeenOn([laptop(NOW - 31 * DAY)], '192.0.2.80', NOW)).toBe(false)
    expect(trustedDeviceSeenOn([laptop(NOW - DAY, NOW + 1)], '192.0.2.80', NOW)).toBe(false)
  })
})
