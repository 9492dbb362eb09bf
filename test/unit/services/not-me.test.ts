import { describe, expect, it } from 'vitest'
import type { DeviceRecord } from '../../../src/core/accounts/records.ts'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import type { DurableStore, SecurityEvent, SecurityEvents, SecurityStateStore } from '../../../src/ports.ts'
import { abuseGuard, type AbuseGuard } from '../../../src/services/abuse-guard.ts'
import { authRecency } from '../../../src/services/auth-recency.ts'
import { deviceActionGuard } from '../../../src/services/device-actions.ts'
import { notMeService } from '../../../src/services/not-me.ts'
import { DEFAULT_ABUSE_PER_IP } from '../../../src/core/policy/abuse.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const NOW = Date.UTC(2026, 5, 1, 12)
const DAY = 86_400_000

const device = (over: Partial<DeviceRecord> & { id: string }): DeviceRecord => ({
  accountId: 'acc',
  displayName: over.id,
  origin: 'password',
  quarantineUntilMs: 0,
  createdAtMs: NOW - 1000,
  lastSeenAtMs: NOW - 1000,
  ...over,
})

const setup = (devices: DeviceRecord[], options: { maxAuthAgeMs?: number } = {}) => {
  const clock = fakeClock(NOW)
  const live = new Map(devices.map((d) => [d.id, d]))
  const durable = {
    accounts: { get: async (id: string) => ({ id, createdAtMs: NOW - 30 * DAY }) },
    devices: {
      get: async (accountId: string, id: string) => (live.get(id)?.accountId === accountId ? (live.get(id) ?? null) : null),
      listByAccount: async (accountId: string) => [...live.values()].filter((d) => d.accountId === accountId),
      revokeMany: async (_: string, ids: string[]) => ({ revoked: ids.filter((id) => live.delete(id)), event: null }),
    },
  } as unknown as DurableStore
  const emitted: SecurityEvent[] = []
  const events: SecurityEvents = { emit: async (_, e) => void emitted.push(e) } as SecurityEvents
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  const abuse: AbuseGuard = abuseGuard({
    counters: store.counters,
    kv: store.kv,
    clock,
    thresholds: DEFAULT_ABUSE_PER_IP,
    globalAfterAccounts: 2,
  })
  const marks = new Map<string, number>()
  const security = {
    markAuthenticated: async (a: string, d: string, at: number) => (marks.set(`${a}/${d}`, at), true),
    lastAuthenticated: async (a: string, d: string) => marks.get(`${a}/${d}`) ?? null,
  } as unknown as SecurityStateStore
  const recency = authRecency({ security, clock })
  const guard = deviceActionGuard({ devices: durable.devices, clock, recency, maxAuthAgeMs: options.maxAuthAgeMs ?? DAY })
  let stepUps = 0
  const notMe = notMeService({ durable, events, clock, guard, abuse, denyMs: DAY, globalMinAccountAgeMs: 7 * DAY })
  const report = (deviceId: string, reporter = 'me', reporterNetwork = '198.51.100.1') =>
    notMe.report({ reporter: { accountId: 'acc', deviceId: reporter }, reporterNetwork, deviceId, stepUp: async () => void stepUps++ })
  return { clock, live, emitted, abuse, report, stepUps: () => stepUps }
}

describe('notMeService', () => {
  it('revokes the device and its channel siblings, denies its network for the account only, and tells the account', async () => {
    const s = setup([
      device({ id: 'me', lastSeenNetwork: '198.51.100.1' }),
      device({ id: 'bad', origin: 'qr', channelHash: 'h', lastSeenNetwork: '203.0.113.9', quarantineUntilMs: NOW + DAY }),
      device({ id: 'bad2', origin: 'qr', channelHash: 'h', lastSeenNetwork: '203.0.113.9', quarantineUntilMs: NOW + DAY }),
    ])
    const outcome = await s.report('bad')
    expect(outcome).toEqual({
      revokedDeviceIds: ['bad', 'bad2'],
      networkDeniedMs: DAY,
      networkDenyScope: 'account',
      // The reporting device is a day old: its report denies the network to its own account only.
      networkKeptBecause: 'reporter_not_established',
    })
    expect([...s.live.keys()]).toEqual(['me'])
    expect(await s.abuse.isDenied('203.0.113.9', 'acc')).toBe(true)
    expect(await s.abuse.isDenied('203.0.113.9', 'other')).toBe(false)
    expect(await s.abuse.isDenied('203.0.113.9')).toBe(false)
    expect(s.emitted[0]).toMatchObject({ type: 'device_not_me', deviceId: 'bad', details: { network_deny_scope: 'account', revoked: 2 } })
  })

  it('refuses a reporter in quarantine before touching anything', async () => {
    const s = setup([
      device({ id: 'me', origin: 'qr', quarantineUntilMs: NOW + DAY }),
      device({ id: 'owner', lastSeenNetwork: '192.0.2.5' }),
    ])
    await expect(s.report('owner')).rejects.toMatchObject({ code: 'FORBIDDEN', reason: 'quarantined' })
    await expect(s.report('nobody')).rejects.toMatchObject({ code: 'FORBIDDEN', reason: 'quarantined' })
    expect(s.live.has('owner')).toBe(true)
    expect(s.emitted).toEqual([])
  })

  it('steps up when the reporter authenticated too long ago, or never (a QR device)', async () => {
    const s = setup([
      device({ id: 'me', createdAtMs: NOW - 2 * DAY }),
      device({ id: 'qr', origin: 'qr', createdAtMs: NOW - 3 * DAY }),
      device({ id: 'a' }),
      device({ id: 'b' }),
    ])
    await s.report('a')
    expect(s.stepUps()).toBe(1)
    // The step-up counts as a recent authentication.
    await s.report('b', 'me')
    expect(s.stepUps()).toBe(1)
    await expect(s.report('me', 'qr')).resolves.toMatchObject({ revokedDeviceIds: ['me'] })
    expect(s.stepUps()).toBe(2)
  })

  it("keeps the reporter's network and a trusted device's network; reports itself or a stranger's device fail", async () => {
    const s = setup([
      device({ id: 'me', lastSeenNetwork: '198.51.100.1' }),
      device({ id: 'office', lastSeenNetwork: '192.0.2.7' }),
      device({ id: 'x', origin: 'qr', lastSeenNetwork: '198.51.100.1' }),
      device({ id: 'y', origin: 'qr', lastSeenNetwork: '192.0.2.7' }),
      device({ id: 'z', origin: 'qr' }),
      device({ id: 'theirs', accountId: 'other' }),
    ])
    expect(await s.report('x')).toMatchObject({ networkDeniedMs: 0, networkKeptBecause: 'reporter_network' })
    expect(await s.report('y')).toMatchObject({ networkDeniedMs: 0, networkKeptBecause: 'trusted_device_network' })
    expect(await s.report('z')).toMatchObject({ networkDeniedMs: 0, networkKeptBecause: 'unknown_network' })
    await expect(s.report('me')).rejects.toMatchObject({ code: 'INVALID_PARAM' })
    await expect(s.report('theirs')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it("finding 42: counts an established account's report toward the deny of everybody, with the networks it is known by", async () => {
    const s = setup([
      device({ id: 'me', createdAtMs: NOW - 8 * DAY, lastSeenNetwork: '198.51.100.1' }),
      device({ id: 'bad', origin: 'qr', lastSeenNetwork: '203.0.113.9', quarantineUntilMs: NOW + DAY }),
    ])
    expect(await s.report('bad')).toMatchObject({ networkDenyScope: 'account', networkKeptBecause: 'below_global_threshold' })
    // A second established account elsewhere makes it global (this guard's threshold is 2).
    expect((await s.abuse.denyForAccount('203.0.113.9', 'other', DAY, ['192.0.2.44'])).scope).toBe('global')
    expect(await s.abuse.isDenied('203.0.113.9', 'third')).toBe(true)
  })
})
