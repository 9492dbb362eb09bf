/**
 * The contract of the sign-in epoch (finding 47), part of the durable conformance suite
 * (`describeDurableStore` in ./conformance.ts) and so run on every adapter: the account's `authEpoch`
 * is stored and read back (absent stays absent), moves with the update that carries it (plain or with
 * its sign-out), and the session mint (`DeviceStore.createWithTokens`) refuses, in its own step and
 * leaving nothing behind, a sign-in authorised under an earlier epoch. What authorised a pending TOTP
 * enrolment (finding 57) is stored and read back, and goes with the key in the password change's step.
 */
import { describe, expect, it } from 'vitest'
import { dropPendingTotp, reviseAccount, voidSignIns } from '../../../src/core/accounts/records.ts'
import type { DeviceRecord } from '../../../src/core/accounts/records.ts'
import type { DurableStore, SecurityEvent } from '../../../src/ports.ts'
import type { FakeClock } from '../../helpers/fake-clock.ts'
import { DAY_MS, newAccess, newAccount, newDevice, newFamily, signedIn } from './fixtures.ts'

const BOUNDS = { maxEvents: 10, retentionMs: DAY_MS }

/** A device of the account with its first family and access token, not stored. */
const sessionOf = (clock: FakeClock, accountId: string) => {
  const device = newDevice(clock, accountId)
  const family = newFamily(clock, device)
  return { device, tokens: { family, access: newAccess(clock, device, { familyId: family.id }) } }
}

/** Nothing of the session is stored. */
const expectNothingOf = async (store: DurableStore, s: ReturnType<typeof sessionOf>) => {
  expect(await store.devices.get(s.device.accountId, s.device.id)).toBeNull()
  expect(await store.tokens.getRefreshFamily(s.tokens.family.id)).toBeNull()
  expect(await store.tokens.getAccess(s.tokens.access.id)).toBeNull()
}

const signedInEvent = (device: DeviceRecord, clock: FakeClock): SecurityEvent => ({
  type: 'device_signed_in',
  atMs: clock.now(),
  deviceId: device.id,
})

/** The suite; `get` gives the current test's store and clock (made in the caller's `beforeEach`). */
export const describeSignInEpoch = (get: () => { store: DurableStore; clock: FakeClock }): void => {
  describe('the sign-in epoch (finding 47)', () => {
    it('stores authEpoch with the account and moves it with an update; absent stays absent', async () => {
      const { store, clock } = get()
      const plain = newAccount(clock)
      expect(await store.accounts.create(plain)).toBe('ok')
      expect(await store.accounts.get(plain.id)).toEqual(plain)
      expect((await store.accounts.get(plain.id))?.authEpoch).toBeUndefined()
      const marked = newAccount(clock, { authEpoch: 3 })
      expect(await store.accounts.create(marked)).toBe('ok')
      expect(await store.accounts.get(marked.id)).toEqual(marked)
      const next = reviseAccount(plain, voidSignIns(plain), clock.now())
      expect(await store.accounts.update(plain.id, plain.version, next)).toBe('ok')
      expect((await store.accounts.get(plain.id))?.authEpoch).toBe(1)
    })

    it('refuses a mint authorised under an earlier epoch, in its own step, leaving nothing behind', async () => {
      const { store, clock } = get()
      const account = newAccount(clock, { authEpoch: 2 })
      await store.accounts.create(account)
      const stale = sessionOf(clock, account.id)
      const append = { event: signedInEvent(stale.device, clock), bounds: BOUNDS }
      expect(await store.devices.createWithTokens(stale.device, stale.tokens, append, false, 1)).toBe('denied')
      await expectNothingOf(store, stale)
      expect(await store.security.readEvents(account.id, 0, 10)).toEqual([])
      // The same plan's mint (a redemption's) is refused the same way.
      expect(await store.devices.createWithTokens(stale.device, stale.tokens, append, true, 1)).toBe('denied')
      await expectNothingOf(store, stale)
      // Authorised under this epoch, or a later one, or naming none: minted.
      for (const authorised of [2, 5, undefined]) {
        const fresh = sessionOf(clock, account.id)
        expect(await store.devices.createWithTokens(fresh.device, fresh.tokens, undefined, false, authorised)).toBe('ok')
        expect(await store.devices.get(account.id, fresh.device.id)).toEqual(fresh.device)
      }
    })

    it('a password change with its sign-out that moves the epoch refuses a mint authorised before it', async () => {
      const { store, clock } = get()
      const { account, device: kept } = await signedIn(store, clock)
      const next = reviseAccount(account, { passwordHash: '$argon2id$new', ...voidSignIns(account) }, clock.now())
      const event: SecurityEvent = { type: 'password_changed', atMs: clock.now(), deviceId: kept.id }
      const changed = await store.accounts.updateAndSignOut(account.id, account.version, next, {
        signOut: { keepDeviceId: kept.id },
        append: { event, bounds: BOUNDS },
      })
      expect(changed.outcome).toBe('ok')
      expect((await store.accounts.get(account.id))?.authEpoch).toBe(1)
      const before = sessionOf(clock, account.id)
      expect(await store.devices.createWithTokens(before.device, before.tokens, undefined, false, 0)).toBe('denied')
      await expectNothingOf(store, before)
      const after = sessionOf(clock, account.id)
      expect(await store.devices.createWithTokens(after.device, after.tokens, undefined, false, 1)).toBe('ok')
      expect((await store.devices.listByAccount(account.id)).map((d) => d.id).sort()).toEqual([kept.id, after.device.id].sort())
    })

    it("stores a pending TOTP enrolment's binding and drops the pending key with the password change's sign-out (finding 57)", async () => {
      const { store, clock } = get()
      const { account, device: kept } = await signedIn(store, clock)
      const pending = { deviceId: kept.id, authEpoch: 0, expiresAtMs: clock.now() + 600_000 }
      const begun = reviseAccount(account, { totp: { secret: 'PENDINGKEY', pending } }, clock.now())
      expect(await store.accounts.update(account.id, account.version, begun)).toBe('ok')
      expect(await store.accounts.get(account.id)).toEqual(begun)
      const next = reviseAccount(begun, { passwordHash: '$argon2id$new', ...voidSignIns(begun), ...dropPendingTotp(begun) }, clock.now())
      const event: SecurityEvent = { type: 'password_changed', atMs: clock.now(), deviceId: kept.id }
      const changed = await store.accounts.updateAndSignOut(account.id, begun.version, next, {
        signOut: { keepDeviceId: kept.id },
        append: { event, bounds: BOUNDS },
      })
      expect(changed.outcome).toBe('ok')
      const stored = await store.accounts.get(account.id)
      expect(stored?.totp).toBeUndefined()
      expect(stored?.authEpoch).toBe(1)
      // A confirmed key is not dropped.
      const confirmed = { secret: 'CONFIRMEDKEY', confirmedAtMs: clock.now() }
      expect(dropPendingTotp({ totp: confirmed })).toEqual({})
    })
  })
}
