import { describe, expect, it } from 'vitest'
import type { AccessTokenRecord, DeviceRecord, RefreshFamilyRecord } from '../../../src/core/accounts/records.ts'
import { type FoundSession, missingParts, reportedIn, tokensFitDevice } from '../../../src/adapters/durable/session-mint.ts'

const device: DeviceRecord = {
  id: 'dev-1',
  accountId: 'acct-1',
  displayName: 'Phone',
  origin: 'qr',
  approvedByDeviceId: 'dev-0',
  channelHash: 'ch',
  quarantineUntilMs: 0,
  createdAtMs: 1,
  lastSeenAtMs: 1,
}
const family: RefreshFamilyRecord = {
  id: 'rf-1',
  accountId: 'acct-1',
  deviceId: 'dev-1',
  scopes: [],
  currentHash: 'h',
  generation: 0,
  createdAtMs: 1,
  expiresAtMs: 2,
  jkt: 'k',
}
const access: AccessTokenRecord = {
  id: 'at-1',
  secretHash: 's',
  accountId: 'acct-1',
  deviceId: 'dev-1',
  familyId: 'rf-1',
  scopes: [],
  issuedAtMs: 1,
  expiresAtMs: 2,
  jkt: 'k',
}
const tokens = { family, access }
const nothing: FoundSession = { device: null, family: null, access: null, reported: false }
// An earlier try's records: the same plan's ids and secrets, other times (minted a few seconds before).
const earlier = {
  device: { ...device, createdAtMs: 0, lastSeenAtMs: 0, displayName: 'Renamed' },
  family: { ...family, createdAtMs: 0, expiresAtMs: 1 },
  access: { ...access, issuedAtMs: 0, expiresAtMs: 1 },
}

describe('session mint rules (every durable adapter)', () => {
  it('writes everything when nothing is stored', () => {
    expect(missingParts(device, tokens, nothing, true)).toEqual({ device: true, family: true, access: true, event: true })
    expect(missingParts(device, tokens, nothing, false)).toEqual({ device: true, family: true, access: true, event: false })
  })

  it('keeps what an earlier try of the plan stored and writes the rest, at each cut', () => {
    expect(missingParts(device, tokens, { ...nothing, device: earlier.device }, true)).toEqual({
      device: false,
      family: true,
      access: true,
      event: true,
    })
    expect(missingParts(device, tokens, { ...nothing, device: earlier.device, family: earlier.family }, true)).toEqual({
      device: false,
      family: false,
      access: true,
      event: true,
    })
    const allThree = { ...earlier, reported: false }
    expect(missingParts(device, tokens, allThree, true)).toEqual({ device: false, family: false, access: false, event: true })
  })

  it('writes nothing once the session was completed (its event stored), whatever else is missing', () => {
    expect(missingParts(device, tokens, { ...earlier, reported: true }, true)).toBe('exists')
    expect(missingParts(device, tokens, { ...nothing, family: earlier.family, reported: true }, true)).toBe('exists')
    // Without an event to report, a session stored whole is complete.
    expect(missingParts(device, tokens, { ...earlier, reported: false }, false)).toBe('exists')
  })

  it('writes nothing when a stored record is not this plan’s untouched one', () => {
    const found = (over: Partial<FoundSession>): FoundSession => ({ ...earlier, access: null, reported: false, ...over })
    for (const other of [
      { device: { ...device, approvedByDeviceId: 'dev-9' } },
      { device: { ...device, channelHash: 'other' } },
      { device: { ...device, origin: 'password' as const } },
      { family: { ...family, revokedAtMs: 1 } },
      { family: { ...family, generation: 1, currentHash: 'h2', previousHash: 'h' } },
      { family: { ...family, currentHash: 'other' } },
      { family: { ...family, jkt: 'other-key' } },
      { family: { ...family, deviceId: 'dev-2' } },
      { access: { ...access, secretHash: 'other' } },
      { access: { ...access, familyId: 'rf-2' } },
      { access: { ...access, jkt: 'other-key' } },
    ]) {
      expect(missingParts(device, tokens, found(other), true), JSON.stringify(other)).toBe('exists')
    }
  })

  it('finds the mint’s event by its type and device only', () => {
    const event = { type: 'device_signed_in' as const, atMs: 5, deviceId: 'dev-1' }
    expect(reportedIn([{ ...event, id: 1, atMs: 1 }], event)).toBe(true)
    expect(reportedIn([{ ...event, id: 1, deviceId: 'dev-2' }], event)).toBe(false)
    expect(reportedIn([{ ...event, id: 1, type: 'device_revoked' }], event)).toBe(false)
    expect(reportedIn([{ id: 1, type: 'device_signed_in', atMs: 1 }], { type: 'device_signed_in', atMs: 5 })).toBe(false)
  })

  it('fits tokens to their device only', () => {
    expect(tokensFitDevice(device, tokens)).toBe(true)
    expect(tokensFitDevice(device, { family, access: { ...access, deviceId: 'dev-2' } })).toBe(false)
    expect(tokensFitDevice(device, { family: { ...family, revokedAtMs: 1 }, access })).toBe(false)
  })
})
