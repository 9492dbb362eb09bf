import { describe, expect, it } from 'vitest'
import {
  DEFAULT_QUARANTINE_MS,
  DEVICE_ACTIONS,
  OTHER_DEVICE_ACTIONS,
  QUARANTINED_ACTIONS,
  RECENT_AUTH_ACTIONS,
  allowedActions,
  isActionAllowed,
  isQuarantined,
  quarantineUntil,
} from '../../../../src/core/oauth/scopes.ts'

const NOW = Date.UTC(2026, 0, 1)

describe('quarantine scopes', () => {
  const qr = { quarantineUntilMs: quarantineUntil(NOW) }

  it('quarantines a QR session for the configured time', () => {
    expect(qr.quarantineUntilMs).toBe(NOW + DEFAULT_QUARANTINE_MS)
    expect(quarantineUntil(NOW, 60_000)).toBe(NOW + 60_000)
    expect(quarantineUntil(NOW, 0)).toBe(0)
  })

  it('refuses password change, 2FA management and approvals while quarantined', () => {
    for (const action of ['change_password', 'manage_2fa', 'approve_login'] as const) {
      expect(isActionAllowed(qr, action, NOW + 1)).toBe(false)
    }
    expect(allowedActions(qr, NOW)).toEqual(DEVICE_ACTIONS.filter((a) => !QUARANTINED_ACTIONS.includes(a)))
    expect(isActionAllowed(qr, 'use_session', NOW)).toBe(true)
  })

  it('allows everything once the quarantine ends, exactly at its end', () => {
    const end = qr.quarantineUntilMs
    expect(isQuarantined(qr, end - 1)).toBe(true)
    expect(isQuarantined(qr, end)).toBe(false)
    expect(allowedActions(qr, end)).toEqual([...DEVICE_ACTIONS])
    expect(isActionAllowed(qr, 'approve_login', end)).toBe(true)
  })

  it('never restricts a device that was not quarantined', () => {
    for (const action of DEVICE_ACTIONS) expect(isActionAllowed({ quarantineUntilMs: 0 }, action, NOW)).toBe(true)
  })

  it('finding 41: every action on another device, renaming included, needs a recent authentication', () => {
    expect(RECENT_AUTH_ACTIONS).toContain('rename_other_device')
    expect([...RECENT_AUTH_ACTIONS].sort()).toEqual([...OTHER_DEVICE_ACTIONS].sort())
    // Its own device stays the device's to manage, in quarantine too.
    expect(RECENT_AUTH_ACTIONS).not.toContain('manage_own_device')
    expect(isActionAllowed(qr, 'manage_own_device', NOW + 1)).toBe(true)
  })
})
