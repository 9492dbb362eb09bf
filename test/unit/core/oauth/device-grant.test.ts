import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  MAX_GRANT_SIGHTINGS,
  approveGrant,
  createGrant,
  declineGrant,
  expireGrant,
  grantForLog,
  isGrantExpired,
  recordSighting,
  redeemGrant,
  type Approver,
  type DeviceGrant,
  type NewGrantInput,
} from '../../../../src/core/oauth/device-grant.ts'
import { hashUserCode } from '../../../../src/core/oauth/user-code.ts'
import { hashSecret } from '../../../../src/core/crypto/secrets.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

const NOW = Date.UTC(2026, 0, 1)
const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
const BINDING = 'q2m2Wc0V8qv8fV8xW2bQ7c9sTqkWq8dVxZl3nYQ1rG4'
const INPUT: NewGrantInput = {
  ttlMs: 300_000,
  intervalSeconds: 5,
  scope: 'urn:matrix:client:api:*',
  dpopJkt: JKT,
  channelBinding: BINDING,
  clientId: 'qrelay-tv',
  requestedDeviceName: 'Living room TV',
  networks: [{ source: 'channel_create', atMs: NOW - 10_000, ip: '203.0.113.5' }],
}
const APPROVER: Approver = { accountId: 'acct-1', deviceId: 'PHONE', channelBinding: BINDING, dpopJkt: JKT }

const issue = (input: NewGrantInput = INPUT) => {
  const result = createGrant(seededRandom(1), NOW, input)
  if (!result.ok) throw new Error(result.code)
  return result.value
}

const approved = (): DeviceGrant => {
  const next = approveGrant(issue().grant, APPROVER, NOW + 1000)
  if (!next.ok) throw new Error(next.code)
  return next.value
}

describe('createGrant', () => {
  it('creates a pending grant that stores only code hashes', () => {
    const { grant, deviceCode, userCode } = issue()
    expect(grant.state).toEqual({ kind: 'pending' })
    expect(grant.deviceCodeHash).toBe(hashSecret(deviceCode))
    expect(grant.userCodeHash).toBe(hashUserCode(userCode))
    expect(grant.expiresAtMs).toBe(NOW + 300_000)
    expect(grant.networks).toHaveLength(1)
    const stored = JSON.stringify(grant)
    expect(stored).not.toContain(deviceCode)
    expect(stored).not.toContain(userCode)
  })

  it('refuses a grant without a binding, a thumbprint, a TTL or an interval', () => {
    for (const bad of [{ channelBinding: '' }, { dpopJkt: '' }, { ttlMs: 0 }, { intervalSeconds: 0 }, { ttlMs: Infinity }]) {
      expect(createGrant(seededRandom(1), NOW, { ...INPUT, ...bad })).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    }
  })

  it('prints the issued grant without its codes', () => {
    const issued = issue()
    for (const printed of [JSON.stringify(issued), inspect(issued, { depth: 5 })]) {
      expect(printed).not.toContain(issued.deviceCode)
      expect(printed).not.toContain(issued.userCode)
      expect(printed).not.toContain(BINDING)
      expect(printed).toContain(issued.grant.id)
    }
  })

  it('logs without codes, binding or networks', () => {
    const { grant } = issue()
    const line = JSON.stringify(grantForLog(grant))
    expect(line).not.toContain(BINDING)
    expect(line).not.toContain(grant.deviceCodeHash)
    expect(line).not.toContain('203.0.113.5')
    expect(grantForLog(grant).state).toBe('pending')
  })
})

describe('approveGrant', () => {
  it('approves once with the matching binding and key', () => {
    const grant = approved()
    expect(grant.state).toEqual({ kind: 'approved', accountId: 'acct-1', deviceId: 'PHONE', atMs: NOW + 1000 })
    expect(approveGrant(grant, APPROVER, NOW + 2000)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })

  it('refuses when the channel bindings differ', () => {
    const result = approveGrant(issue().grant, { ...APPROVER, channelBinding: BINDING.replace('q', 'r') }, NOW)
    expect(result).toMatchObject({ ok: false, code: 'CHANNEL_BINDING_MISMATCH' })
  })

  it('refuses when the approver names another DPoP key', () => {
    const result = approveGrant(issue().grant, { ...APPROVER, dpopJkt: JKT.slice(1) }, NOW)
    expect(result).toMatchObject({ ok: false, code: 'DPOP_KEY_MISMATCH' })
  })

  it('refuses after expiry, exactly at the expiry instant', () => {
    const { grant } = issue()
    expect(approveGrant(grant, APPROVER, grant.expiresAtMs - 1).ok).toBe(true)
    expect(approveGrant(grant, APPROVER, grant.expiresAtMs)).toMatchObject({ ok: false, code: 'GRANT_EXPIRED' })
  })

  it('refuses a declined grant', () => {
    const declined = declineGrant(issue().grant, NOW)
    if (!declined.ok) throw new Error(declined.code)
    expect(approveGrant(declined.value, APPROVER, NOW)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })
})

describe('declineGrant', () => {
  it('declines a pending grant once', () => {
    const declined = declineGrant(issue().grant, NOW + 5)
    expect(declined).toMatchObject({ ok: true, value: { state: { kind: 'declined', atMs: NOW + 5 } } })
    if (!declined.ok) return
    expect(declineGrant(declined.value, NOW + 6)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })

  it('cannot take back an approval', () => {
    expect(declineGrant(approved(), NOW + 2000)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })
})

describe('redeemGrant', () => {
  it('keeps the sign-in epoch of the approval through the redemption (finding 47)', () => {
    const given = approveGrant(issue().grant, { ...APPROVER, authEpoch: 3 }, NOW + 1000)
    if (!given.ok) throw new Error(given.code)
    expect(given.value.state).toMatchObject({ kind: 'approved', authEpoch: 3 })
    expect(redeemGrant(given.value, JKT, NOW + 2000)).toMatchObject({ ok: true, value: { state: { kind: 'redeemed', authEpoch: 3 } } })
    // An approval without one (stored before it was recorded) carries none.
    expect('authEpoch' in approved().state).toBe(false)
  })

  it('redeems an approved grant once', () => {
    const spent = redeemGrant(approved(), JKT, NOW + 3000)
    expect(spent).toMatchObject({ ok: true, value: { state: { kind: 'redeemed', accountId: 'acct-1', redeemedAtMs: NOW + 3000 } } })
    if (!spent.ok) return
    expect(redeemGrant(spent.value, JKT, NOW + 3001)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })

  it('refuses a pending or declined grant', () => {
    const { grant } = issue()
    expect(redeemGrant(grant, JKT, NOW)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
    const declined = declineGrant(grant, NOW)
    if (!declined.ok) throw new Error(declined.code)
    expect(redeemGrant(declined.value, JKT, NOW)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })

  it('refuses a proof by another key', () => {
    expect(redeemGrant(approved(), 'another-thumbprint', NOW + 3000)).toMatchObject({ ok: false, code: 'DPOP_KEY_MISMATCH' })
  })

  it('refuses an approved grant past its expiry', () => {
    const grant = approved()
    expect(redeemGrant(grant, JKT, grant.expiresAtMs)).toMatchObject({ ok: false, code: 'GRANT_EXPIRED' })
  })
})

describe('expireGrant', () => {
  it('expires pending and approved grants only once they are due', () => {
    const { grant } = issue()
    expect(expireGrant(grant, grant.expiresAtMs - 1)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
    expect(isGrantExpired(grant, grant.expiresAtMs)).toBe(true)
    const dead = expireGrant(grant, grant.expiresAtMs)
    expect(dead).toMatchObject({ ok: true, value: { state: { kind: 'expired' } } })
    expect(expireGrant(approved(), grant.expiresAtMs).ok).toBe(true)
    if (!dead.ok) return
    expect(approveGrant(dead.value, APPROVER, NOW)).toMatchObject({ ok: false, code: 'GRANT_EXPIRED' })
    expect(expireGrant(dead.value, grant.expiresAtMs + 1)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })

  it('leaves a redeemed grant redeemed', () => {
    const spent = redeemGrant(approved(), JKT, NOW + 3000)
    if (!spent.ok) throw new Error(spent.code)
    expect(expireGrant(spent.value, spent.value.expiresAtMs + 1)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })
})

describe('recordSighting', () => {
  it('adds new networks, skips repeats and stops at the cap', () => {
    let grant = issue().grant
    grant = recordSighting(grant, { source: 'device_authorization', atMs: NOW, ip: '203.0.113.5' })
    const again = recordSighting(grant, { source: 'device_authorization', atMs: NOW + 1, ip: '203.0.113.5' })
    expect(again).toBe(grant)
    for (let i = 0; i < 40; i++) grant = recordSighting(grant, { source: 'poll', atMs: NOW + i, ip: `198.51.100.${i}` })
    expect(grant.networks).toHaveLength(MAX_GRANT_SIGHTINGS)
  })
})
