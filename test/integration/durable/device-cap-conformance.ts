/**
 * The per-account cap on devices (finding 62), part of the durable conformance suite
 * (`describeDurableStore` in ./conformance.ts) and so run on every adapter: the session mint
 * (`DeviceStore.createWithTokens` with `maxDevices`) answers `full`, leaving nothing behind, when the
 * account holds that many devices; devices with no live refresh family (expired or revoked) are signed
 * out in the same step to make room; concurrent mints never pass the cap; a planned mint's retry of a
 * device it already stored is not counted.
 */
import { describe, expect, it } from 'vitest'
import type { DurableStore } from '../../../src/ports.ts'
import type { FakeClock } from '../../helpers/fake-clock.ts'
import { DAY_MS, newAccess, newAccount, newDevice, newFamily } from './fixtures.ts'

/** A device of the account with its first family and access token, not stored. */
const sessionOf = (clock: FakeClock, accountId: string) => {
  const device = newDevice(clock, accountId)
  const family = newFamily(clock, device)
  return { device, tokens: { family, access: newAccess(clock, device, { familyId: family.id }) } }
}

/** The suite; `get` gives the current test's store and clock (made in the caller's `beforeEach`). */
export const describeDeviceCap = (get: () => { store: DurableStore; clock: FakeClock }): void => {
  describe('the cap on devices per account (finding 62)', () => {
    const account = async () => {
      const { store, clock } = get()
      const a = newAccount(clock)
      await store.accounts.create(a)
      return a.id
    }
    const mint = (s: ReturnType<typeof sessionOf>, max?: number, planned = false) =>
      get().store.devices.createWithTokens(s.device, s.tokens, undefined, planned, undefined, max)

    it('refuses a new device at the cap (full), leaving nothing behind; a signed-out device does not count', async () => {
      const { store, clock } = get()
      const id = await account()
      const kept = [sessionOf(clock, id), sessionOf(clock, id)]
      for (const s of kept) expect(await mint(s, 2)).toBe('ok')
      const third = sessionOf(clock, id)
      expect(await mint(third, 2)).toBe('full')
      expect(await store.devices.get(id, third.device.id)).toBeNull()
      expect(await store.tokens.getRefreshFamily(third.tokens.family.id)).toBeNull()
      expect(await store.tokens.getAccess(third.tokens.access.id)).toBeNull()
      // No cap given: not checked.
      expect(await mint(sessionOf(clock, id))).toBe('ok')
      expect((await store.devices.listByAccount(id)).length).toBe(3)
      await store.devices.revoke(id, kept[0]!.device.id)
      await store.devices.revoke(id, kept[1]!.device.id)
      expect(await mint(third, 2)).toBe('ok')
    })

    it('signs out the devices with no live refresh family to make room, and only them', async () => {
      const { store, clock } = get()
      const id = await account()
      const old = sessionOf(clock, id)
      old.tokens.family.expiresAtMs = clock.now() + DAY_MS
      const revoked = sessionOf(clock, id)
      const live = sessionOf(clock, id)
      for (const s of [old, revoked, live]) expect(await mint(s, 3)).toBe('ok')
      expect(await store.tokens.revokeRefreshFamily(revoked.tokens.family.id)).toBe(true)
      clock.advance(DAY_MS + 1) // the old device's family has expired
      const fresh = sessionOf(clock, id)
      expect(await mint(fresh, 3)).toBe('ok')
      expect((await store.devices.listByAccount(id)).map((d) => d.id).sort()).toEqual([live.device.id, fresh.device.id].sort())
      // Only live devices left: full again.
      expect(await mint(sessionOf(clock, id), 2)).toBe('full')
    })

    it('lets concurrent mints of one account reach the cap and not pass it', async () => {
      const { store, clock } = get()
      const id = await account()
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => mint(sessionOf(clock, id), 3)))
      expect(outcomes.filter((o) => o === 'ok').length).toBe(3)
      expect(outcomes.filter((o) => o === 'full').length).toBe(5)
      expect((await store.devices.listByAccount(id)).length).toBe(3)
    })

    it('does not count the device a planned mint already stored (its retry completes it at the cap)', async () => {
      const { store, clock } = get()
      const id = await account()
      const planned = sessionOf(clock, id)
      expect(await store.devices.create(planned.device)).toBe('ok')
      expect(await mint(sessionOf(clock, id), 2)).toBe('ok')
      // The account is at the cap, with the planned device among its two: the retry completes it.
      expect(await mint(planned, 2, true)).toBe('ok')
      expect(await store.tokens.getAccess(planned.tokens.access.id)).not.toBeNull()
    })
  })
}
