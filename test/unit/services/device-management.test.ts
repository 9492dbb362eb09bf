import { describe, expect, it } from 'vitest'
import type { DeviceRecord } from '../../../src/core/accounts/records.ts'
import { RelayError } from '../../../src/core/errors.ts'
import type { DurableStore, SecurityEvent, SecurityEvents, SecurityStateStore } from '../../../src/ports.ts'
import { authRecency } from '../../../src/services/auth-recency.ts'
import { deviceActionGuard } from '../../../src/services/device-actions.ts'
import { deviceManagement } from '../../../src/services/device-management.ts'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { parseConfig } from '../../../src/config.ts'
import { rateLimiter } from '../../../src/services/rate-limiter.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const NOW = Date.UTC(2026, 5, 1, 12)
const HOUR = 3_600_000

const device = (over: Partial<DeviceRecord> & { id: string }): DeviceRecord => ({
  accountId: 'acc',
  displayName: over.id,
  origin: 'password',
  quarantineUntilMs: 0,
  createdAtMs: NOW - HOUR,
  lastSeenAtMs: NOW - HOUR,
  ...over,
})

const setup = (devices: DeviceRecord[], limited = false) => {
  const clock = fakeClock(NOW)
  const live = new Map(devices.map((d) => [d.id, d]))
  const renames: string[] = []
  const durable = {
    devices: {
      get: async (accountId: string, id: string) => (live.get(id)?.accountId === accountId ? (live.get(id) ?? null) : null),
      revokeMany: async (_: string, ids: readonly string[]) => ({ revoked: ids.filter((id) => live.delete(id)), event: null }),
      rename: async (_: string, id: string, displayName: string) => {
        const d = live.get(id)
        if (d === undefined) return false
        renames.push(id)
        live.set(id, { ...d, displayName })
        return true
      },
    },
  } as unknown as DurableStore
  const emitted: SecurityEvent[] = []
  const events: SecurityEvents = { emit: async (_, e) => void emitted.push(e) }
  const marks = new Map<string, number>()
  const security = {
    markAuthenticated: async (a: string, d: string, at: number) => (marks.set(`${a}/${d}`, at), true),
    lastAuthenticated: async (a: string, d: string) => marks.get(`${a}/${d}`) ?? null,
  } as unknown as SecurityStateStore
  const recency = authRecency({ security, clock })
  const guard = deviceActionGuard({ devices: durable.devices, clock, recency, maxAuthAgeMs: 24 * HOUR })
  // The default rename limit of the configuration, on a real counter store, when asked.
  const limit = limited
    ? {
        limiter: rateLimiter(memoryStore({ clock, sweepIntervalMs: 0 }).counters, clock),
        renamesPerDevice: parseConfig({}).auth.renamesPerDevice,
      }
    : {}
  const service = deviceManagement({ durable, events, clock, guard, ...limit })
  let stepUps = 0
  const rename = (actor: string, deviceId: string, displayName: string) =>
    service.rename({ actor: { accountId: 'acc', deviceId: actor }, deviceId, displayName, stepUp: async () => void stepUps++ })
  return { clock, live, renames, emitted, service, rename, marks, stepUps: () => stepUps }
}

const errorOf = async (promise: Promise<unknown>): Promise<RelayError | undefined> => {
  try {
    await promise
    return undefined
  } catch (error) {
    if (error instanceof RelayError) return error
    throw error
  }
}

describe('deviceManagement.signOut (finding 41)', () => {
  it('finding 41: signs another device out and reports who did it, with the name of the device gone', async () => {
    const t = setup([device({ id: 'phone', displayName: 'Phone' }), device({ id: 'laptop' })])
    expect(await t.service.signOut({ accountId: 'acc', deviceId: 'laptop' }, 'phone')).toBe(true)
    expect(t.live.has('phone')).toBe(false)
    expect(t.emitted).toEqual([
      { type: 'device_signed_out', atMs: NOW, deviceId: 'phone', details: { by_device: 'laptop', self: false, device_name: 'Phone' } },
    ])
  })

  it('finding 41: reports a device signing itself out; a device not signed in is reported nothing', async () => {
    const t = setup([device({ id: 'phone', displayName: 'Phone' })])
    expect(await t.service.signOut({ accountId: 'acc', deviceId: 'phone' }, 'phone')).toBe(true)
    expect(await t.service.signOut({ accountId: 'acc', deviceId: 'phone' }, 'phone')).toBe(false)
    expect(await t.service.signOut({ accountId: 'other', deviceId: 'x' }, 'nobody')).toBe(false)
    expect(t.emitted).toEqual([
      expect.objectContaining({ type: 'device_signed_out', details: { by_device: 'phone', self: true, device_name: 'Phone' } }),
    ])
  })
})

describe('deviceManagement.rename (finding 41)', () => {
  it('finding 41: a device renames itself without a step-up, in quarantine too, and the rename is reported', async () => {
    const t = setup([device({ id: 'qr', origin: 'qr', displayName: 'Pixel', quarantineUntilMs: NOW + HOUR })])
    await t.rename('qr', 'qr', 'Phone')
    expect(t.stepUps()).toBe(0)
    expect(t.emitted).toEqual([
      { type: 'device_renamed', atMs: NOW, deviceId: 'qr', details: { by_device: 'qr', self: true, old_name: 'Pixel', new_name: 'Phone' } },
    ])
  })

  it('finding 41: renaming another device is refused in quarantine before the target is looked at', async () => {
    const t = setup([device({ id: 'qr', origin: 'qr', quarantineUntilMs: NOW + HOUR }), device({ id: 'phone' })])
    expect((await errorOf(t.rename('qr', 'phone', 'old tablet - unused')))?.reason).toBe('quarantined')
    expect((await errorOf(t.rename('qr', 'nobody', 'x')))?.reason).toBe('quarantined')
    expect(t.renames).toEqual([])
    expect(t.emitted).toEqual([])
  })

  it('finding 41: a QR device out of quarantine steps up before renaming another device, once; then the rename is reported', async () => {
    const t = setup([device({ id: 'qr', origin: 'qr', quarantineUntilMs: NOW - 1 }), device({ id: 'phone', displayName: 'Phone' })])
    await t.rename('qr', 'phone', 'old tablet - unused')
    expect(t.stepUps()).toBe(1)
    expect(t.marks.get('acc/qr')).toBe(NOW)
    expect(t.emitted).toEqual([
      {
        type: 'device_renamed',
        atMs: NOW,
        deviceId: 'phone',
        details: { by_device: 'qr', self: false, old_name: 'Phone', new_name: 'old tablet - unused' },
      },
    ])
    // Fresh now: no second step-up.
    await t.rename('qr', 'phone', 'Phone')
    expect(t.stepUps()).toBe(1)
  })

  it('finding 41: a step-up that refuses renames nothing; an unknown device is NOT_FOUND; the same name is no news', async () => {
    const t = setup([device({ id: 'stale', createdAtMs: NOW - 48 * HOUR }), device({ id: 'phone', displayName: 'Phone' })])
    const refused = t.service.rename({
      actor: { accountId: 'acc', deviceId: 'stale' },
      deviceId: 'phone',
      displayName: 'x',
      stepUp: async () => {
        throw new RelayError('FORBIDDEN', { detail: 'wrong password' })
      },
    })
    expect((await errorOf(refused))?.code).toBe('FORBIDDEN')
    expect(t.renames).toEqual([])
    expect((await errorOf(t.rename('phone', 'nobody', 'x')))?.code).toBe('NOT_FOUND')
    await t.rename('phone', 'phone', 'Phone')
    expect(t.renames).toEqual(['phone'])
    expect(t.emitted).toEqual([])
  })
})

describe('deviceManagement.rename limit (finding 41, sibling)', () => {
  it("finding 41: a phished session renaming itself as fast as allowed for a week writes fewer renames than the feed's 100 events", async () => {
    const t = setup([device({ id: 'qr', origin: 'qr', quarantineUntilMs: NOW + 24 * HOUR })], true)
    let written = 0
    // Paced as the answers allow: after a 429, it waits the Retry-After it was given (the review's attack).
    for (let tries = 0; t.clock.now() < NOW + 7 * 24 * HOUR && tries < 10_000; tries++) {
      const error = await errorOf(t.rename('qr', 'qr', `Phone ${tries}`))
      if (error === undefined) written++
      else if (error.code !== 'RATE_LIMITED') throw error
      t.clock.advance(error?.retryAfterMs ?? 60_000)
    }
    expect(t.emitted).toHaveLength(written)
    // 42 at the default (10 a day); 10 an hour let 100 through in under a day.
    expect(written).toBeLessThanOrEqual(80)
  })

  it('finding 41: renames are counted per acting device, and a step-up and its rename count once', async () => {
    const t = setup(
      [device({ id: 'qr', origin: 'qr', quarantineUntilMs: NOW + HOUR }), device({ id: 'phone', createdAtMs: NOW - 48 * HOUR })],
      true,
    )
    for (let i = 0; i < 10; i++) await t.rename('qr', 'qr', `Phone ${i}`)
    expect((await errorOf(t.rename('qr', 'qr', 'Phone 10')))?.code).toBe('RATE_LIMITED')
    // The phone's first rename of another device is answered with a challenge (its step-up throws),
    // then made with the answer: the challenge is not counted, so 10 renames follow, not 9.
    const challenged = t.service.rename({
      actor: { accountId: 'acc', deviceId: 'phone' },
      deviceId: 'qr',
      displayName: 'Tablet',
      stepUp: async () => {
        throw new RelayError('AUTH_STAGE_REQUIRED', { detail: 'more authentication stages are required' })
      },
    })
    expect((await errorOf(challenged))?.code).toBe('AUTH_STAGE_REQUIRED')
    for (let i = 0; i < 10; i++) await t.rename('phone', 'qr', `Tablet ${i}`)
    expect(t.stepUps()).toBe(1)
    expect((await errorOf(t.rename('phone', 'qr', 'Tablet 10')))?.code).toBe('RATE_LIMITED')
  })
})
