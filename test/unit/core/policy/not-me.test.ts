import { describe, expect, it } from 'vitest'
import { NOT_ME_TRUSTED_SEEN_MS, notMeNetworkVerdict } from '../../../../src/core/policy/not-me.ts'

const NOW = Date.UTC(2026, 5, 1)
const trusted = (lastSeenNetwork: string, ageMs = 0, quarantineUntilMs = 0) => ({
  lastSeenNetwork,
  lastSeenAtMs: NOW - ageMs,
  quarantineUntilMs,
})
/** A report made by a device older than the reported one (the usual case: the owner's phone reports a new sign-in). */
const AGES = { reportedCreatedAtMs: NOW - 60_000, reporterCreatedAtMs: NOW - 30 * 86_400_000 }

describe('notMeNetworkVerdict', () => {
  it('denies a network only the reported device used', () => {
    expect(
      notMeNetworkVerdict({
        ...AGES,
        network: '203.0.113.1',
        reporterNetworks: ['198.51.100.1'],
        remaining: [trusted('192.0.2.1')],
        now: NOW,
      }),
    ).toEqual({ deny: true, network: '203.0.113.1' })
  })

  it("keeps the reporter's network, an unknown one, and one a trusted device was seen on recently", () => {
    const base = { ...AGES, reporterNetworks: ['198.51.100.1', undefined], now: NOW }
    expect(notMeNetworkVerdict({ ...base, network: '198.51.100.1', remaining: [] })).toEqual({ deny: false, reason: 'reporter_network' })
    expect(notMeNetworkVerdict({ ...base, network: undefined, remaining: [] })).toEqual({ deny: false, reason: 'unknown_network' })
    expect(notMeNetworkVerdict({ ...base, network: '192.0.2.1', remaining: [trusted('192.0.2.1', 1000)] })).toEqual({
      deny: false,
      reason: 'trusted_device_network',
    })
  })

  it('does not count a device in quarantine, nor one not seen for 30 days, as trusted', () => {
    const base = { ...AGES, reporterNetworks: [], now: NOW, network: '192.0.2.1' }
    expect(notMeNetworkVerdict({ ...base, remaining: [trusted('192.0.2.1', 0, NOW + 1)] }).deny).toBe(true)
    expect(notMeNetworkVerdict({ ...base, remaining: [trusted('192.0.2.1', NOT_ME_TRUSTED_SEEN_MS + 1)] }).deny).toBe(true)
  })

  it('finding 50: denies nothing when the reported device is older than the reporting one (a thief with the password reporting the owner)', () => {
    const facts = { reporterNetworks: ['203.0.113.77'], remaining: [], now: NOW, network: '198.51.100.20' }
    const thief = { reportedCreatedAtMs: NOW - 8 * 86_400_000, reporterCreatedAtMs: NOW - 1000 }
    expect(notMeNetworkVerdict({ ...facts, ...thief })).toEqual({ deny: false, reason: 'reported_device_older' })
    // The owner's older device reporting a newer sign-in still denies; the same instant is not "older".
    expect(notMeNetworkVerdict({ ...facts, ...AGES })).toEqual({ deny: true, network: '198.51.100.20' })
    expect(notMeNetworkVerdict({ ...facts, reportedCreatedAtMs: NOW, reporterCreatedAtMs: NOW }).deny).toBe(true)
  })
})
