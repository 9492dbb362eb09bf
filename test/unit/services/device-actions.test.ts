import { describe, expect, it } from 'vitest'
import type { DeviceRecord } from '../../../src/core/accounts/records.ts'
import { RelayError } from '../../../src/core/errors.ts'
import type { DeviceStore } from '../../../src/ports.ts'
import type { AuthRecency } from '../../../src/services/auth-recency.ts'
import { deviceActionGuard } from '../../../src/services/device-actions.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const NOW = Date.UTC(2026, 5, 1, 12)
const HOUR = 3_600_000

const device = (over: Partial<DeviceRecord> & { id: string }): DeviceRecord => ({
  accountId: 'acc',
  displayName: over.id,
  origin: 'password',
  quarantineUntilMs: 0,
  createdAtMs: NOW - 48 * HOUR,
  lastSeenAtMs: NOW - HOUR,
  ...over,
})

const setup = (devices: DeviceRecord[], lastAuthMs = NOW - HOUR) => {
  const clock = fakeClock(NOW)
  const live = new Map(devices.map((d) => [d.id, d]))
  const store = { get: async (accountId: string, id: string) => (live.get(id)?.accountId === accountId ? (live.get(id) ?? null) : null) }
  let recencyReads = 0
  const marks: string[] = []
  const recency: AuthRecency = {
    mark: async (accountId, deviceId) => void marks.push(`${accountId}:${deviceId}`),
    lastAuthenticatedAt: async () => {
      recencyReads++
      return lastAuthMs
    },
  }
  const guard = deviceActionGuard({ devices: store as unknown as DeviceStore, clock, recency, maxAuthAgeMs: 24 * HOUR })
  return { clock, guard, marks, recencyReads: () => recencyReads }
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

describe('deviceActionGuard.ensureAllowed', () => {
  it('lets a device out of quarantine act on its own account, without reading its authentication recency', async () => {
    const t = setup([device({ id: 'd1' })])
    for (const action of ['change_password', 'manage_2fa', 'approve_login'] as const) {
      expect(await errorOf(t.guard.ensureAllowed({ accountId: 'acc', deviceId: 'd1' }, action))).toBeUndefined()
    }
    expect(t.recencyReads()).toBe(0)
  })

  it('refuses a quarantined device with FORBIDDEN, reason quarantined, until the quarantine ends', async () => {
    const t = setup([device({ id: 'qr', origin: 'qr', quarantineUntilMs: NOW + HOUR })])
    const refused = await errorOf(t.guard.ensureAllowed({ accountId: 'acc', deviceId: 'qr' }, 'change_password'))
    expect(refused?.code).toBe('FORBIDDEN')
    expect(refused?.reason).toBe('quarantined')
    t.clock.advance(HOUR)
    expect(await errorOf(t.guard.ensureAllowed({ accountId: 'acc', deviceId: 'qr' }, 'change_password'))).toBeUndefined()
  })

  it('answers INVALID_TOKEN when the acting device is gone (or of another account)', async () => {
    const t = setup([device({ id: 'd1' })])
    expect((await errorOf(t.guard.ensureAllowed({ accountId: 'acc', deviceId: 'gone' }, 'manage_2fa')))?.code).toBe('INVALID_TOKEN')
    expect((await errorOf(t.guard.ensureAllowed({ accountId: 'other', deviceId: 'd1' }, 'manage_2fa')))?.code).toBe('INVALID_TOKEN')
  })
})

describe('deviceActionGuard.authorize', () => {
  it('steps up a stale device once and marks it; a fresh one goes through without a step-up', async () => {
    const stale = setup([device({ id: 'd1' })], NOW - 25 * HOUR)
    let stepUps = 0
    await stale.guard.authorize({ accountId: 'acc', deviceId: 'd1' }, 'revoke_devices', async () => void stepUps++)
    expect(stepUps).toBe(1)
    expect(stale.marks).toEqual(['acc:d1'])
    const fresh = setup([device({ id: 'd1' })])
    await fresh.guard.authorize({ accountId: 'acc', deviceId: 'd1' }, 'revoke_devices', async () => void stepUps++)
    expect(stepUps).toBe(1)
    expect(fresh.marks).toEqual([])
  })
})

describe('deviceActionGuard.check: renaming another device (finding 41)', () => {
  it('finding 41: asks a stale device, and a QR device that never stepped up, for a step-up before renaming another device', async () => {
    const stale = setup([device({ id: 'd1' })], NOW - 25 * HOUR)
    expect((await stale.guard.check({ accountId: 'acc', deviceId: 'd1' }, 'rename_other_device')).stale).toBe(true)
    const fresh = setup([device({ id: 'd1' })])
    expect((await fresh.guard.check({ accountId: 'acc', deviceId: 'd1' }, 'rename_other_device')).stale).toBe(false)
    // Out of quarantine but never authenticated (the recency's fallback for a QR device is 0).
    const qr = setup([device({ id: 'qr', origin: 'qr', quarantineUntilMs: NOW - HOUR })], 0)
    expect((await qr.guard.check({ accountId: 'acc', deviceId: 'qr' }, 'rename_other_device')).stale).toBe(true)
    const quarantined = setup([device({ id: 'qr', origin: 'qr', quarantineUntilMs: NOW + HOUR })])
    expect((await errorOf(quarantined.guard.check({ accountId: 'acc', deviceId: 'qr' }, 'rename_other_device')))?.reason).toBe(
      'quarantined',
    )
  })
})
