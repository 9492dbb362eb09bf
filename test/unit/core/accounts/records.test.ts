import { describe, expect, it } from 'vitest'
import {
  accountForLog,
  isAccountUsable,
  isStillAuthorised,
  judgeRefresh,
  reviseAccount,
  usernameKey,
  voidSignIns,
  type AccountRecord,
  type RefreshFamilyRecord,
} from '../../../../src/core/accounts/records.ts'

const NOW = Date.UTC(2026, 0, 1)

const account: AccountRecord = {
  id: 'acct-1',
  username: 'Alice',
  passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
  status: 'active',
  lockedUntilMs: 0,
  totp: { secret: 'JBSWY3DPEHPK3PXP', confirmedAtMs: NOW - 1 },
  version: 3,
  createdAtMs: NOW - 1000,
  updatedAtMs: NOW - 10,
}

const family: RefreshFamilyRecord = {
  id: 'rf-1',
  accountId: 'acct-1',
  deviceId: 'dev-1',
  scopes: [],
  currentHash: 'h2',
  previousHash: 'h1',
  rotatedAtMs: NOW - 500,
  generation: 2,
  createdAtMs: NOW - 10_000,
  expiresAtMs: NOW + 10_000,
}

describe('usernameKey', () => {
  it('folds case and compatibility forms into one key', () => {
    expect(usernameKey('Alice')).toBe('alice')
    expect(usernameKey('ＡＬＩＣＥ')).toBe('alice')
    expect(usernameKey('alice')).not.toBe(usernameKey('alicé'))
  })
})

describe('isAccountUsable', () => {
  it('is true only for an active account whose lock has run out', () => {
    expect(isAccountUsable(account, NOW)).toBe(true)
    expect(isAccountUsable({ ...account, status: 'disabled' }, NOW)).toBe(false)
    expect(isAccountUsable({ ...account, lockedUntilMs: NOW + 1 }, NOW)).toBe(false)
    expect(isAccountUsable({ ...account, lockedUntilMs: NOW }, NOW)).toBe(true)
  })
})

describe('the sign-in epoch (finding 47)', () => {
  it('lets a sign-in mint only while the account has not moved past the epoch it was authorised under', () => {
    const moved = reviseAccount(account, voidSignIns(account), NOW)
    expect(account.authEpoch).toBeUndefined()
    expect(moved.authEpoch).toBe(1)
    expect(voidSignIns(moved)).toEqual({ authEpoch: 2 })
    expect(isStillAuthorised(account, 0)).toBe(true)
    expect(isStillAuthorised(moved, 0)).toBe(false)
    expect(isStillAuthorised(moved, 1)).toBe(true)
    expect(isStillAuthorised(moved, 2)).toBe(true)
    expect(isStillAuthorised(moved, undefined)).toBe(true)
  })
})

describe('reviseAccount', () => {
  it('bumps the version and keeps id, username and creation time when asked to change them', () => {
    const next = reviseAccount(account, { passwordHash: 'new', id: 'other', username: 'bob' } as never, NOW)
    expect(next).toEqual({ ...account, passwordHash: 'new', version: 4, updatedAtMs: NOW })
  })
})

describe('judgeRefresh', () => {
  it('rotates the current token', () => {
    expect(judgeRefresh(family, 'h2', false, NOW, 2000)).toBe('rotate')
  })

  it('calls the last rotated-out token a race only inside the grace window', () => {
    expect(judgeRefresh(family, 'h1', true, NOW, 501)).toBe('raced')
    expect(judgeRefresh(family, 'h1', true, NOW, 500)).toBe('reuse')
    expect(judgeRefresh(family, 'h1', true, NOW, 0)).toBe('reuse')
  })

  it('calls any older token a replay and an unknown one missing', () => {
    expect(judgeRefresh(family, 'h0', true, NOW, 60_000)).toBe('reuse')
    expect(judgeRefresh(family, 'forged', false, NOW, 60_000)).toBe('missing')
  })

  it('refuses everything once revoked, and treats an expired family as missing', () => {
    expect(judgeRefresh({ ...family, revokedAtMs: NOW - 1 }, 'h2', false, NOW, 0)).toBe('revoked')
    expect(judgeRefresh(family, 'h2', false, family.expiresAtMs, 0)).toBe('missing')
  })
})

describe('accountForLog', () => {
  it('leaves out the password hash, the TOTP key and the username', () => {
    const text = JSON.stringify(accountForLog(account))
    expect(text).not.toContain(account.passwordHash)
    expect(text).not.toContain('JBSWY3DPEHPK3PXP')
    expect(text).not.toContain('Alice')
    expect(accountForLog(account)).toEqual({ id: 'acct-1', status: 'active', lockedUntilMs: 0, version: 3, totp: true })
  })
})
