/**
 * The contract of `AccountStore.updateAndSignOut` (finding 43), part of the durable conformance suite
 * (`describeDurableStore` in ./conformance.ts) and so run on every adapter: the account update, the
 * sign-out of every other device and the feed event land in one step, or nothing does.
 */
import { describe, expect, it } from 'vitest'
import { reviseAccount, type AccountRecord } from '../../../src/core/accounts/records.ts'
import type { AccountUpdateEffects, DurableStore, SecurityEvent } from '../../../src/ports.ts'
import type { FakeClock } from '../../helpers/fake-clock.ts'
import { DAY_MS, hashOf, newAccess, newDevice, session, signedIn, uid } from './fixtures.ts'

const BOUNDS = { maxEvents: 10, retentionMs: DAY_MS }
const COUNT = 'devices_signed_out'

/** An account with three devices (the first one `kept`), each with a session, and one event in its feed. */
const threeDevices = async (store: DurableStore, clock: FakeClock) => {
  const { account, device: kept } = await signedIn(store, clock)
  const others = [newDevice(clock, account.id), newDevice(clock, account.id)]
  for (const d of others) expect(await store.devices.create(d)).toBe('ok')
  const keptSession = await session(store, clock, kept)
  const otherSessions = await Promise.all(others.map((d) => session(store, clock, d)))
  const before = await store.security.appendEvent(account.id, { type: 'device_signed_in', atMs: clock.now(), deviceId: kept.id }, BOUNDS)
  return { account, kept, others, keptSession, otherSessions, before: before?.id ?? 0 }
}

const passwordChange = (clock: FakeClock, account: AccountRecord, keepDeviceId: string) => {
  const next = reviseAccount(account, { passwordHash: `$argon2id$new-${uid('hash')}` }, clock.now())
  const event: SecurityEvent = { type: 'password_changed', atMs: clock.now(), deviceId: keepDeviceId }
  const effects: AccountUpdateEffects = { signOut: { keepDeviceId }, append: { event, bounds: BOUNDS, countAs: COUNT } }
  return { next, event, effects }
}

const rotateOf = (family: { id: string; currentHash: string }) => ({
  familyId: family.id,
  presentedHash: family.currentHash,
  nextHash: hashOf(uid('n')),
  graceMs: 0,
})

/** The suite; `get` gives the current test's store and clock (made in the caller's `beforeEach`). */
export const describeAccountChange = (get: () => { store: DurableStore; clock: FakeClock }): void => {
  describe('accounts.updateAndSignOut (password change, disable)', () => {
    it('stores the new hash, signs out every other device and appends the counted event, in one step', async () => {
      const { store, clock } = get()
      const { account, kept, others, keptSession, otherSessions, before } = await threeDevices(store, clock)
      const stranger = await signedIn(store, clock)
      const strangerSession = await session(store, clock, stranger.device)
      clock.advance(1000)
      const { next, event, effects } = passwordChange(clock, account, kept.id)

      const result = await store.accounts.updateAndSignOut(account.id, account.version, next, effects)
      const stored = { ...event, details: { [COUNT]: 2 } }
      expect(result).toEqual({ outcome: 'ok', signedOut: 2, event: { id: expect.any(Number), ...stored } })
      expect(result.event?.id).toBeGreaterThan(before)

      expect(await store.accounts.get(account.id)).toEqual(next)
      expect((await store.devices.listByAccount(account.id)).map((d) => d.id)).toEqual([kept.id])
      for (const d of others) expect(await store.devices.get(account.id, d.id)).toBeNull()
      for (const s of otherSessions) {
        expect(await store.tokens.getAccess(s.access.id)).toBeNull()
        expect((await store.tokens.rotateRefresh(rotateOf(s.family))).outcome).toBe('revoked')
      }
      expect(await store.tokens.getAccess(keptSession.access.id)).toEqual(keptSession.access)
      expect((await store.tokens.rotateRefresh(rotateOf(keptSession.family))).outcome).toBe('rotated')
      // The feed holds it after the earlier event, with its cursor; a reader from that cursor sees nothing more.
      expect(await store.security.readEvents(account.id, before, 10)).toEqual([result.event])
      expect(await store.security.readEvents(account.id, result.event?.id ?? 0, 10)).toEqual([])
      // Another account is untouched.
      expect(await store.tokens.getAccess(strangerSession.access.id)).toEqual(strangerSession.access)
      expect(await store.security.readEvents(stranger.account.id, 0, 10)).toEqual([])
    })

    it('writes nothing on a version mismatch, for an unknown account, or for a renaming update', async () => {
      const { store, clock } = get()
      const { account, kept, others, otherSessions, before } = await threeDevices(store, clock)
      const { next, effects } = passwordChange(clock, account, kept.id)
      const nothing = { signedOut: 0, event: null }

      expect(await store.accounts.updateAndSignOut(account.id, account.version + 1, next, effects)).toEqual({
        outcome: 'mismatch',
        ...nothing,
      })
      const unknown = uid('nobody')
      expect(await store.accounts.updateAndSignOut(unknown, 1, { ...next, id: unknown }, effects)).toEqual({
        outcome: 'missing',
        ...nothing,
      })
      await expect(
        store.accounts.updateAndSignOut(account.id, account.version, { ...next, username: uid('other') }, effects),
      ).rejects.toThrow()

      expect(await store.accounts.get(account.id)).toEqual(account)
      expect((await store.devices.listByAccount(account.id)).map((d) => d.id).sort()).toEqual([kept.id, ...others.map((d) => d.id)].sort())
      for (const s of otherSessions) expect(await store.tokens.getAccess(s.access.id)).toEqual(s.access)
      expect(await store.security.readEvents(account.id, before, 10)).toEqual([])
    })

    it('signs out every device with keepDeviceId null, none without signOut, and appends the event as given without countAs', async () => {
      const { store, clock } = get()
      const { account, kept, otherSessions, keptSession, before } = await threeDevices(store, clock)
      // `logout_devices: false`: the hash and the event (0 signed out), every device stays.
      const change = passwordChange(clock, account, kept.id)
      const { signOut: _all, ...noSignOut } = change.effects
      const kept3 = await store.accounts.updateAndSignOut(account.id, account.version, change.next, noSignOut)
      expect(kept3).toMatchObject({ outcome: 'ok', signedOut: 0, event: { type: 'password_changed', details: { [COUNT]: 0 } } })
      expect(await store.devices.listByAccount(account.id)).toHaveLength(3)

      // The operator's disable: every device, its event without a count.
      const disabled = reviseAccount(change.next, { status: 'disabled' }, clock.now())
      const event: SecurityEvent = { type: 'account_disabled', atMs: clock.now(), details: { by: 'operator' } }
      const result = await store.accounts.updateAndSignOut(account.id, change.next.version, disabled, {
        signOut: { keepDeviceId: null },
        append: { event, bounds: BOUNDS },
      })
      expect(result).toEqual({ outcome: 'ok', signedOut: 3, event: { id: expect.any(Number), ...event } })
      expect(await store.devices.listByAccount(account.id)).toEqual([])
      for (const s of [keptSession, ...otherSessions]) expect(await store.tokens.getAccess(s.access.id)).toBeNull()
      expect((await store.security.readEvents(account.id, before, 10)).map((e) => e.type)).toEqual(['password_changed', 'account_disabled'])
      // Without `append`: the update and the sign-out, no event.
      const enabled = reviseAccount(disabled, { status: 'active' }, clock.now())
      expect(await store.accounts.updateAndSignOut(account.id, disabled.version, enabled, {})).toEqual({
        outcome: 'ok',
        signedOut: 0,
        event: null,
      })
      expect(await store.security.readEvents(account.id, result.event?.id ?? 0, 10)).toEqual([])
    })

    it('lets exactly one of 10 concurrent changes from one version land, with its one event', async () => {
      const { store, clock } = get()
      const { account, kept, before } = await threeDevices(store, clock)
      const changes = Array.from({ length: 10 }, () => passwordChange(clock, account, kept.id))
      const results = await Promise.all(changes.map((c) => store.accounts.updateAndSignOut(account.id, account.version, c.next, c.effects)))
      const winners = results.flatMap((r, i) => (r.outcome === 'ok' ? [{ r, c: changes[i] }] : []))
      expect(winners).toHaveLength(1)
      expect(results.filter((r) => r.outcome === 'mismatch')).toHaveLength(9)
      for (const r of results) if (r.outcome !== 'ok') expect(r).toEqual({ outcome: 'mismatch', signedOut: 0, event: null })
      expect((await store.accounts.get(account.id))?.passwordHash).toBe(winners[0]?.c?.next.passwordHash)
      expect(await store.security.readEvents(account.id, before, 10)).toEqual([winners[0]?.r.event])
      expect(winners[0]?.r.signedOut).toBe(2)
    })

    it('never lets a token minted concurrently with the change outlive the signed-out device', async () => {
      const { store, clock } = get()
      const { account, kept, others } = await threeDevices(store, clock)
      const other = others[0] as (typeof others)[number]
      const { family } = await session(store, clock, other)
      const tokens = Array.from({ length: 10 }, () => newAccess(clock, other, { familyId: family.id }))
      const { next, effects } = passwordChange(clock, account, kept.id)
      await Promise.all([
        ...tokens.slice(0, 5).map((t) => store.tokens.putAccess(t)),
        store.accounts.updateAndSignOut(account.id, account.version, next, effects),
        ...tokens.slice(5).map((t) => store.tokens.putAccess(t)),
      ])
      for (const t of tokens) expect(await store.tokens.getAccess(t.id)).toBeNull()
    })
  })
}
