import { describe, expect, it } from 'vitest'
import type { AccessTokenRecord, DeviceRecord, RefreshFamilyRecord } from '../../../src/core/accounts/records.ts'
import { createWithTokensInSteps } from '../../../src/adapters/durable/session-mint-steps.ts'
import type { MintOutcome, StoredSecurityEvent } from '../../../src/ports.ts'

const device: DeviceRecord = {
  id: 'dev-1',
  accountId: 'acct-1',
  displayName: 'Phone',
  origin: 'qr',
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
}

const append = { event: { type: 'device_signed_in' as const, atMs: 1, deviceId: 'dev-1' }, bounds: { maxEvents: 10, retentionMs: 1000 } }

/** Stores that log each call; `putAccess` (and `appendEvent`) answer or throw as told. */
const stores = (
  putAccess: () => Promise<MintOutcome>,
  appendEvent: () => Promise<StoredSecurityEvent | null> = async () => ({ ...append.event, id: 1 }),
) => {
  const calls: string[] = []
  const devices = {
    create: async () => (calls.push('create'), 'ok' as const),
    revoke: async () => (calls.push('revoke'), true),
  }
  const tokens = {
    createRefreshFamily: async () => (calls.push('family'), 'ok' as const),
    putAccess: () => (calls.push('access'), putAccess()),
  }
  return {
    calls,
    mint: createWithTokensInSteps(
      () => devices,
      () => tokens,
      () => ({ appendEvent: () => (calls.push('event'), appendEvent()) }),
    ),
  }
}

describe('createWithTokensInSteps (Redis, Durable Objects)', () => {
  it('writes the device, the family and the token in turn', async () => {
    const s = stores(async () => 'ok')
    expect(await s.mint(device, { family, access })).toBe('ok')
    expect(s.calls).toEqual(['create', 'family', 'access'])
  })

  it('appends the feed event as a fourth step when given', async () => {
    const s = stores(async () => 'ok')
    expect(await s.mint(device, { family, access }, append)).toBe('ok')
    expect(s.calls).toEqual(['create', 'family', 'access', 'event'])
  })

  it('revokes the device when the event finds no account (denied) or throws', async () => {
    const gone = stores(
      async () => 'ok',
      async () => null,
    )
    expect(await gone.mint(device, { family, access }, append)).toBe('denied')
    expect(gone.calls).toEqual(['create', 'family', 'access', 'event', 'revoke'])
    const down = stores(
      async () => 'ok',
      async () => {
        throw new Error('store down')
      },
    )
    await expect(down.mint(device, { family, access }, append)).rejects.toThrow('store down')
    expect(down.calls).toEqual(['create', 'family', 'access', 'event', 'revoke'])
  })

  it('appends no event when a token step is refused', async () => {
    const s = stores(async () => 'denied')
    expect(await s.mint(device, { family, access }, append)).toBe('denied')
    expect(s.calls).toEqual(['create', 'family', 'access', 'revoke'])
  })

  it('revokes the device when a later step is refused, and answers the refusal', async () => {
    const s = stores(async () => 'denied')
    expect(await s.mint(device, { family, access })).toBe('denied')
    expect(s.calls).toEqual(['create', 'family', 'access', 'revoke'])
  })

  it('revokes the device when a later step throws, and rethrows', async () => {
    const s = stores(async () => {
      throw new Error('store down')
    })
    await expect(s.mint(device, { family, access })).rejects.toThrow('store down')
    expect(s.calls).toEqual(['create', 'family', 'access', 'revoke'])
  })

  it('writes nothing for records of another device', async () => {
    const s = stores(async () => 'ok')
    expect(await s.mint(device, { family, access: { ...access, deviceId: 'dev-2' } })).toBe('denied')
    expect(s.calls).toEqual([])
  })
})
