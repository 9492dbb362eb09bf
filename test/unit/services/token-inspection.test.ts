import { describe, expect, it } from 'vitest'
import { memoryDurableStore } from '../../../src/adapters/durable/memory.ts'
import { mintDeviceToken } from '../../../src/core/auth/device-token.ts'
import type { DurableStore, SecurityEvent, SecurityEvents } from '../../../src/ports.ts'
import { tokenInspection } from '../../../src/services/token-inspection.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'
import { newAccess, newFamily, signedIn } from '../../integration/durable/fixtures.ts'

/** An account with one device holding an access token and a refresh family, `jkt` bound when given. */
const setup = async (jkt?: string) => {
  const clock = fakeClock(Date.UTC(2026, 5, 1, 12))
  const random = seededRandom(45)
  const durable = memoryDurableStore({ clock })
  const { account, device } = await signedIn(durable, clock)
  const [a, r] = [mintDeviceToken(random), mintDeviceToken(random)]
  const family = newFamily(clock, device, { id: r.id, currentHash: r.secretHash(), ...(jkt === undefined ? {} : { jkt }) })
  const access = newAccess(clock, device, {
    id: a.id,
    secretHash: a.secretHash(),
    familyId: family.id,
    ...(jkt === undefined ? {} : { jkt }),
  })
  expect(await durable.tokens.createRefreshFamily(family)).toBe('ok')
  expect(await durable.tokens.putAccess(access)).toBe('ok')
  const told: SecurityEvent[] = []
  const events: SecurityEvents = { emit: async (_, e) => void told.push(e) }
  const alive = async () => ({
    device: (await durable.devices.get(account.id, device.id)) !== null,
    access: (await durable.tokens.getAccess(access.id)) !== null,
    family: (await durable.tokens.getRefreshFamily(family.id))?.revokedAtMs === undefined,
  })
  return { clock, durable, events, told, account, device, access: a.bearer(), refresh: r.bearer(), alive }
}

describe('tokenInspection.revoke (RFC 7009, MSC4254)', () => {
  it("signs the token's device out, with every token of it, and tells device_signed_out once", async () => {
    for (const which of ['access', 'refresh'] as const) {
      const s = await setup()
      const inspection = tokenInspection({ durable: s.durable, clock: s.clock, events: s.events })
      expect(await inspection.revoke(which === 'access' ? s.access : s.refresh)).toBe('revoked')
      expect(await s.alive()).toEqual({ device: false, access: false, family: false })
      expect(s.told).toEqual([
        {
          type: 'device_signed_out',
          atMs: s.clock.now(),
          deviceId: s.device.id,
          details: { by_device: s.device.id, self: true, device_name: s.device.displayName, via: 'token_revocation' },
        },
      ])
      expect(await inspection.revoke(s.access)).toBe('unknown')
      expect(await inspection.revoke(s.refresh)).toBe('unknown')
      expect(s.told).toHaveLength(1)
    }
  })

  it('reports one sign-out among concurrent revocations of both tokens', async () => {
    const s = await setup()
    const inspection = tokenInspection({ durable: s.durable, clock: s.clock, events: s.events })
    const outcomes = await Promise.all([s.access, s.refresh, s.access, s.refresh].map((t) => inspection.revoke(t)))
    expect(outcomes).toContain('revoked')
    expect(s.told).toHaveLength(1)
    expect(await s.alive()).toEqual({ device: false, access: false, family: false })
  })

  it('changes and tells nothing for a bound token without its key, and signs out with it', async () => {
    const s = await setup('key-thumbprint')
    const inspection = tokenInspection({ durable: s.durable, clock: s.clock, events: s.events })
    for (const proof of [undefined, 'another-key']) {
      expect(await inspection.revoke(s.access, undefined, proof)).toBe('key_required')
      expect(await inspection.revoke(s.refresh, 'refresh_token', proof)).toBe('key_required')
    }
    expect(await s.alive()).toEqual({ device: true, access: true, family: true })
    expect(s.told).toEqual([])
    expect(await inspection.revoke(s.refresh, 'refresh_token', 'key-thumbprint')).toBe('revoked')
    expect(await s.alive()).toEqual({ device: false, access: false, family: false })
  })

  it('revokes the token alone, telling nothing, when its device is not found', async () => {
    const s = await setup()
    const noDevice: DurableStore = { ...s.durable, devices: { ...s.durable.devices, get: async () => null } }
    const inspection = tokenInspection({ durable: noDevice, clock: s.clock, events: s.events })
    expect(await inspection.revoke(s.access)).toBe('revoked')
    expect(await s.alive()).toEqual({ device: true, access: false, family: true })
    expect(s.told).toEqual([])
  })
})
