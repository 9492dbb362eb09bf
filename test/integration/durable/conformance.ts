/**
 * The contract of the durable store port, run against every adapter: `describeDurableStore(name, make)`
 * where `make(clock)` returns a store that the test may fill (ids are unique per run, so a shared
 * Redis or file is fine). Races go through Promise.all: for Redis they are real interleavings of
 * scripts; for memory and SQLite they check that no intent yields half-way.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { REFRESH_USED_KEPT, reviseAccount } from '../../../src/core/accounts/records.ts'
import type { AccountRecord } from '../../../src/core/accounts/records.ts'
import type { AccountPage, DurableStore, SecurityEvent } from '../../../src/ports.ts'
import { fakeClock, type FakeClock } from '../../helpers/fake-clock.ts'
import { describeAccountChange } from './account-change-conformance.ts'
import { describeDeviceCap } from './device-cap-conformance.ts'
import { describeDeviceHistory } from './device-history-conformance.ts'
import { describeRevokeMany } from './revoke-many-conformance.ts'
import { describeSignInEpoch } from './sign-in-epoch-conformance.ts'
import { DAY_MS, hashOf, newAccess, newAccount, newDevice, newFamily, session, signedIn, uid } from './fixtures.ts'

export type MakeDurableStore = (clock: FakeClock) => Promise<DurableStore> | DurableStore

const times = <T>(n: number, run: (i: number) => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: n }, (_, i) => run(i)))

const count = <T>(values: readonly T[], value: T): number => values.filter((v) => v === value).length

export const describeDurableStore = (name: string, make: MakeDurableStore): void => {
  describe(`DurableStore conformance: ${name}`, () => {
    let clock: FakeClock
    let store: DurableStore

    beforeEach(async () => {
      // Real wall-clock start so that Redis key expiry (the server's clock) agrees with the fake one.
      clock = fakeClock(Date.now())
      store = await make(clock)
    })
    afterEach(async () => {
      await store.close()
    })

    describe('accounts', () => {
      it('creates an account and reads it back by id and by username in any case', async () => {
        const account = newAccount(clock, { username: uid('Alice'), totp: { secret: 'JBSWY3DPEHPK3PXP' } })
        expect(await store.accounts.create(account)).toBe('ok')
        expect(await store.accounts.get(account.id)).toEqual(account)
        expect(await store.accounts.findByUsername(account.username.toUpperCase())).toEqual(account)
        expect(await store.accounts.findByUsername(account.username.toLowerCase())).toEqual(account)
      })

      it('returns null for an unknown id or username', async () => {
        expect(await store.accounts.get(uid('nobody'))).toBeNull()
        expect(await store.accounts.findByUsername(uid('nobody'))).toBeNull()
      })

      it('refuses a taken id or a username taken in another case or width', async () => {
        const account = newAccount(clock, { username: uid('alice') })
        await store.accounts.create(account)
        expect(await store.accounts.create({ ...account, username: uid('other') })).toBe('exists')
        expect(await store.accounts.create(newAccount(clock, { username: account.username.toUpperCase() }))).toBe('exists')
        const fullWidth = account.username.replace('alice', 'ａｌｉｃｅ')
        expect(await store.accounts.create(newAccount(clock, { username: fullWidth }))).toBe('exists')
        expect(await store.accounts.get(account.id)).toEqual(account)
      })

      it('lets exactly one of 20 concurrent registrations of one username win', async () => {
        const username = uid('bob')
        const candidates = Array.from({ length: 20 }, (_, i) =>
          newAccount(clock, { username: i % 2 === 0 ? username : username.toUpperCase() }),
        )
        const outcomes = await Promise.all(candidates.map((a) => store.accounts.create(a)))
        expect(count(outcomes, 'ok')).toBe(1)
        const winner = candidates[outcomes.indexOf('ok')]
        expect((await store.accounts.findByUsername(username))?.id).toBe(winner?.id)
      })

      it('updates by compare-and-swap on the version', async () => {
        const account = newAccount(clock)
        await store.accounts.create(account)
        const next = reviseAccount(account, { passwordHash: 'new-hash', lockedUntilMs: clock.now() + 5 }, clock.now())
        expect(await store.accounts.update(account.id, account.version + 1, next)).toBe('mismatch')
        expect(await store.accounts.update(account.id, account.version, next)).toBe('ok')
        expect(await store.accounts.get(account.id)).toEqual(next)
        expect(await store.accounts.update(account.id, account.version, next)).toBe('mismatch')
        expect(await store.accounts.update(uid('nobody'), 1, { ...next, id: 'x' })).toBe('missing')
      })

      it('lets exactly one of 20 concurrent updates from the same version win', async () => {
        const account = newAccount(clock)
        await store.accounts.create(account)
        const nexts = Array.from({ length: 20 }, (_, i) => reviseAccount(account, { passwordHash: `h${i}` }, clock.now()))
        const outcomes = await Promise.all(nexts.map((n) => store.accounts.update(account.id, account.version, n)))
        expect(count(outcomes, 'ok')).toBe(1)
        expect(await store.accounts.get(account.id)).toEqual(nexts[outcomes.indexOf('ok')])
      })

      it('keeps the TOTP enrolment and removes it again through update', async () => {
        const account = newAccount(clock)
        await store.accounts.create(account)
        const enrolled = reviseAccount(account, { totp: { secret: 'S3CRET', confirmedAtMs: clock.now() } }, clock.now())
        expect(await store.accounts.update(account.id, account.version, enrolled)).toBe('ok')
        expect((await store.accounts.get(account.id))?.totp).toEqual({ secret: 'S3CRET', confirmedAtMs: clock.now() })
        const removed = reviseAccount(enrolled, { totp: undefined }, clock.now())
        expect(await store.accounts.update(account.id, enrolled.version, removed)).toBe('ok')
        expect((await store.accounts.get(account.id))?.totp).toBeUndefined()
      })

      it('throws when an update tries to change the username', async () => {
        const account = newAccount(clock)
        await store.accounts.create(account)
        const renamed = { ...reviseAccount(account, {}, clock.now()), username: uid('mallory') }
        await expect(store.accounts.update(account.id, account.version, renamed)).rejects.toThrow(/username/)
        expect(await store.accounts.get(account.id)).toEqual(account)
      })

      it('hands out copies: changing a returned record changes nothing stored', async () => {
        const account = newAccount(clock)
        await store.accounts.create(account)
        const read = await store.accounts.get(account.id)
        if (read !== null) read.status = 'disabled'
        account.status = 'disabled'
        expect((await store.accounts.get(account.id))?.status).toBe('active')
      })
    })

    describeAccountChange(() => ({ store, clock }))
    describeRevokeMany(() => ({ store, clock }))
    describeSignInEpoch(() => ({ store, clock }))
    describeDeviceCap(() => ({ store, clock }))
    describeDeviceHistory(() => ({ store, clock }))

    describe('listing accounts', () => {
      it('lists accounts in username-key order, a page at a time, each once, as stored', async () => {
        // Scoped by a unique prefix: the cursor is a username key, so a shared store's other accounts sort elsewhere.
        const prefix = `${uid('list')}-${Math.random().toString(36).slice(2, 8)}`.toLowerCase()
        const created = ['Carol', 'alice', 'Bob', 'dave', 'Erin'].map((n) => newAccount(clock, { username: `${prefix}-${n}` }))
        for (const account of created) expect(await store.accounts.create(account)).toBe('ok')
        const seen: AccountRecord[] = []
        let after: string | null = prefix
        for (let page = 0; page < 10 && after !== null; page++) {
          const listed: AccountPage = await store.accounts.list(after, 2)
          expect(listed.accounts.length).toBeLessThanOrEqual(2)
          const ours = listed.accounts.filter((a) => a.username.startsWith(prefix))
          seen.push(...ours)
          after = ours.length < listed.accounts.length ? null : listed.next
        }
        const byKey = [...created].sort((a, b) => (a.username.toLowerCase() < b.username.toLowerCase() ? -1 : 1))
        expect(seen).toEqual(byKey)
      })

      it('starts from the first account without a cursor, and ends with a null cursor', async () => {
        const account = newAccount(clock)
        await store.accounts.create(account)
        const first = await store.accounts.list(null, 1)
        expect(first.accounts).toHaveLength(1)
        const all: string[] = []
        let after: string | null = null
        for (let page = 0; page < 10_000; page++) {
          const listed: AccountPage = await store.accounts.list(after, 50)
          all.push(...listed.accounts.map((a) => a.id))
          after = listed.next
          if (after === null) break
        }
        expect(after).toBeNull()
        expect(all.filter((id) => id === account.id)).toHaveLength(1)
        expect(new Set(all).size).toBe(all.length)
      })
    })

    describe('credentials', () => {
      it('accepts each TOTP step once and never an older one', async () => {
        const { account } = await signedIn(store, clock)
        expect(await store.credentials.useTotpStep(account.id, 1000)).toBe(true)
        expect(await store.credentials.useTotpStep(account.id, 1000)).toBe(false)
        expect(await store.credentials.useTotpStep(account.id, 999)).toBe(false)
        expect(await store.credentials.useTotpStep(account.id, 1001)).toBe(true)
        expect(await store.credentials.useTotpStep(uid('nobody'), 5)).toBe(false)
      })

      it('accepts one of 20 concurrent uses of the same TOTP step', async () => {
        const { account } = await signedIn(store, clock)
        const results = await times(20, () => store.credentials.useTotpStep(account.id, 58_000_000))
        expect(count(results, true)).toBe(1)
      })

      it('spends a recovery code once and keeps the others', async () => {
        const { account } = await signedIn(store, clock)
        const codes = ['a', 'b', 'c'].map(hashOf)
        expect(await store.credentials.replaceRecoveryCodes(account.id, codes)).toBe(true)
        expect(await store.credentials.countRecoveryCodes(account.id)).toBe(3)
        expect(await store.credentials.consumeRecoveryCode(account.id, codes[1]!)).toBe(true)
        expect(await store.credentials.consumeRecoveryCode(account.id, codes[1]!)).toBe(false)
        expect(await store.credentials.consumeRecoveryCode(account.id, hashOf('z'))).toBe(false)
        expect(await store.credentials.countRecoveryCodes(account.id)).toBe(2)
      })

      it('invalidates every earlier code when the set is regenerated', async () => {
        const { account } = await signedIn(store, clock)
        await store.credentials.replaceRecoveryCodes(account.id, [hashOf('old-1'), hashOf('old-2')])
        await store.credentials.replaceRecoveryCodes(account.id, [hashOf('new-1')])
        expect(await store.credentials.consumeRecoveryCode(account.id, hashOf('old-1'))).toBe(false)
        expect(await store.credentials.countRecoveryCodes(account.id)).toBe(1)
        expect(await store.credentials.consumeRecoveryCode(account.id, hashOf('new-1'))).toBe(true)
        await store.credentials.replaceRecoveryCodes(account.id, [])
        expect(await store.credentials.countRecoveryCodes(account.id)).toBe(0)
      })

      it('refuses recovery codes of an unknown account', async () => {
        expect(await store.credentials.replaceRecoveryCodes(uid('nobody'), [hashOf('x')])).toBe(false)
        expect(await store.credentials.consumeRecoveryCode(uid('nobody'), hashOf('x'))).toBe(false)
        expect(await store.credentials.countRecoveryCodes(uid('nobody'))).toBe(0)
      })

      it.each([2, 20])('lets exactly one of %i concurrent uses of one recovery code succeed', async (n) => {
        const { account } = await signedIn(store, clock)
        await store.credentials.replaceRecoveryCodes(account.id, [hashOf('race'), hashOf('other')])
        const results = await times(n, () => store.credentials.consumeRecoveryCode(account.id, hashOf('race')))
        expect(count(results, true)).toBe(1)
        expect(await store.credentials.countRecoveryCodes(account.id)).toBe(1)
      })
    })

    describe('devices', () => {
      it('creates a device and reads it back, only within its account', async () => {
        const { account } = await signedIn(store, clock)
        const device = newDevice(clock, account.id, {
          origin: 'qr',
          approvedByDeviceId: uid('dev'),
          channelHash: hashOf('channel'),
          quarantineUntilMs: clock.now() + 3_600_000,
          lastSeenNetwork: '203.0.113.0/24',
        })
        expect(await store.devices.create(device)).toBe('ok')
        expect(await store.devices.get(account.id, device.id)).toEqual(device)
        const other = await signedIn(store, clock)
        expect(await store.devices.get(other.account.id, device.id)).toBeNull()
        expect(await store.devices.create(device)).toBe('exists')
      })

      it('creates a device with its first family and access token in one intent', async () => {
        const account = newAccount(clock)
        await store.accounts.create(account)
        const device = newDevice(clock, account.id, { origin: 'qr', channelHash: hashOf('channel') })
        const family = newFamily(clock, device, { jkt: 'jkt-1' })
        const access = newAccess(clock, device, { familyId: family.id, jkt: 'jkt-1' })
        expect(await store.devices.createWithTokens(device, { family, access })).toBe('ok')
        expect(await store.devices.get(account.id, device.id)).toEqual(device)
        expect(await store.tokens.getRefreshFamily(family.id)).toEqual(family)
        expect(await store.tokens.getAccess(access.id)).toEqual(access)
        const rotate = { familyId: family.id, presentedHash: family.currentHash, nextHash: hashOf('next'), graceMs: 0 }
        expect((await store.tokens.rotateRefresh(rotate)).outcome).toBe('rotated')
        // The same device again: nothing new is stored.
        const again = { family: newFamily(clock, device), access: newAccess(clock, device) }
        again.access.familyId = again.family.id
        expect(await store.devices.createWithTokens(device, again)).toBe('exists')
        expect(await store.tokens.getRefreshFamily(again.family.id)).toBeNull()
        expect(await store.tokens.getAccess(again.access.id)).toBeNull()
      })

      it('leaves nothing behind when createWithTokens is refused', async () => {
        const { account, device: existing } = await signedIn(store, clock)
        const taken = await session(store, clock, existing)
        const tokensOf = (device: ReturnType<typeof newDevice>, familyId?: string) => {
          const family = newFamily(clock, device, familyId === undefined ? {} : { id: familyId })
          return { family, access: newAccess(clock, device, { familyId: family.id }) }
        }
        // A family id already live: the device is not kept either.
        const clash = newDevice(clock, account.id)
        expect(await store.devices.createWithTokens(clash, tokensOf(clash, taken.family.id))).toBe('exists')
        expect(await store.devices.get(account.id, clash.id)).toBeNull()
        // Records of another device, or a token of another family: denied, nothing stored.
        const mismatched = newDevice(clock, account.id)
        const foreign = tokensOf(existing)
        expect(await store.devices.createWithTokens(mismatched, foreign)).toBe('denied')
        const crossed = tokensOf(mismatched)
        crossed.access.familyId = taken.family.id
        expect(await store.devices.createWithTokens(mismatched, crossed)).toBe('denied')
        expect(await store.devices.get(account.id, mismatched.id)).toBeNull()
        for (const id of [foreign.family.id, crossed.family.id]) expect(await store.tokens.getRefreshFamily(id)).toBeNull()
        for (const id of [foreign.access.id, crossed.access.id]) expect(await store.tokens.getAccess(id)).toBeNull()
        // A locked or unknown account: denied, nothing stored.
        const locked = newAccount(clock, { lockedUntilMs: clock.now() + 1000 })
        await store.accounts.create(locked)
        const lockedDevice = newDevice(clock, locked.id)
        const lockedTokens = tokensOf(lockedDevice)
        expect(await store.devices.createWithTokens(lockedDevice, lockedTokens)).toBe('denied')
        expect(await store.devices.get(locked.id, lockedDevice.id)).toBeNull()
        expect(await store.tokens.getAccess(lockedTokens.access.id)).toBeNull()
        const nobody = newDevice(clock, uid('nobody'))
        expect(await store.devices.createWithTokens(nobody, tokensOf(nobody))).toBe('denied')
        expect((await store.devices.listByAccount(account.id)).map((d) => d.id)).toEqual([existing.id])
      })

      it('lists an account’s devices oldest first', async () => {
        const account = newAccount(clock)
        await store.accounts.create(account)
        const later = newDevice(clock, account.id, { createdAtMs: clock.now() + 10, id: 'a-later' })
        const early = newDevice(clock, account.id, { id: 'z-early' })
        const tie = newDevice(clock, account.id, { id: 'b-early' })
        for (const d of [later, early, tie]) await store.devices.create(d)
        expect(await store.devices.listByAccount(account.id)).toEqual([tie, early, later])
        expect(await store.devices.listByAccount(uid('nobody'))).toEqual([])
      })

      it('refuses a device for a missing, disabled or locked account', async () => {
        expect(await store.devices.create(newDevice(clock, uid('nobody')))).toBe('denied')
        const disabled = newAccount(clock, { status: 'disabled' })
        await store.accounts.create(disabled)
        expect(await store.devices.create(newDevice(clock, disabled.id))).toBe('denied')
        const locked = newAccount(clock, { lockedUntilMs: clock.now() + 1000 })
        await store.accounts.create(locked)
        expect(await store.devices.create(newDevice(clock, locked.id))).toBe('denied')
        clock.advance(1000)
        expect(await store.devices.create(newDevice(clock, locked.id))).toBe('ok')
      })

      it('renames a device and says false for an unknown one', async () => {
        const { account, device } = await signedIn(store, clock)
        expect(await store.devices.rename(account.id, device.id, 'Kitchen TV ✓')).toBe(true)
        expect((await store.devices.get(account.id, device.id))?.displayName).toBe('Kitchen TV ✓')
        expect(await store.devices.rename(account.id, uid('dev'), 'x')).toBe(false)
      })

      it('moves last-seen forward only', async () => {
        const { account, device } = await signedIn(store, clock)
        expect(await store.devices.touch(account.id, device.id, { atMs: clock.now() + 10, network: 'n1' })).toBe(true)
        expect(await store.devices.touch(account.id, device.id, { atMs: clock.now() + 5, network: 'n2' })).toBe(true)
        const seen = await store.devices.get(account.id, device.id)
        expect([seen?.lastSeenAtMs, seen?.lastSeenNetwork]).toEqual([clock.now() + 10, 'n1'])
        await times(20, (i) => store.devices.touch(account.id, device.id, { atMs: clock.now() + 100 + i, network: `m${i}` }))
        const last = await store.devices.get(account.id, device.id)
        expect([last?.lastSeenAtMs, last?.lastSeenNetwork]).toEqual([clock.now() + 119, 'm19'])
        expect(await store.devices.touch(account.id, uid('dev'), { atMs: clock.now() })).toBe(false)
      })

      it('revokes a device with its tokens and families, once', async () => {
        const { account, device } = await signedIn(store, clock)
        const { access, family } = await session(store, clock, device)
        const bare = newAccess(clock, device)
        await store.tokens.putAccess(bare)
        expect(await store.devices.revoke(account.id, device.id)).toBe(true)
        expect(await store.devices.get(account.id, device.id)).toBeNull()
        expect(await store.tokens.getAccess(access.id)).toBeNull()
        expect(await store.tokens.getAccess(bare.id)).toBeNull()
        expect((await store.tokens.getRefreshFamily(family.id))?.revokedAtMs).toBe(clock.now())
        const rotate = { familyId: family.id, presentedHash: family.currentHash, nextHash: hashOf('n'), graceMs: 0 }
        expect((await store.tokens.rotateRefresh(rotate)).outcome).toBe('revoked')
        expect(await store.tokens.putAccess(newAccess(clock, device))).toBe('denied')
        expect(await store.devices.revoke(account.id, device.id)).toBe(false)
      })

      it('leaves only the kept device’s tokens working after revokeAllExcept', async () => {
        const { account, device: kept } = await signedIn(store, clock)
        const others = [newDevice(clock, account.id), newDevice(clock, account.id)]
        for (const d of others) await store.devices.create(d)
        const keptSession = await session(store, clock, kept)
        const otherSessions = await Promise.all(others.map((d) => session(store, clock, d)))
        const stranger = await signedIn(store, clock)
        const strangerSession = await session(store, clock, stranger.device)

        expect(await store.devices.revokeAllExcept(account.id, kept.id)).toBe(2)
        expect((await store.devices.listByAccount(account.id)).map((d) => d.id)).toEqual([kept.id])
        expect(await store.tokens.getAccess(keptSession.access.id)).toEqual(keptSession.access)
        for (const s of otherSessions) {
          expect(await store.tokens.getAccess(s.access.id)).toBeNull()
          const rotate = { familyId: s.family.id, presentedHash: s.family.currentHash, nextHash: hashOf(uid('n')), graceMs: 0 }
          expect((await store.tokens.rotateRefresh(rotate)).outcome).toBe('revoked')
        }
        const keptRotate = {
          familyId: keptSession.family.id,
          presentedHash: keptSession.family.currentHash,
          nextHash: hashOf(uid('n')),
          graceMs: 0,
        }
        expect((await store.tokens.rotateRefresh(keptRotate)).outcome).toBe('rotated')
        expect(await store.tokens.getAccess(strangerSession.access.id)).not.toBeNull()
        expect(await store.devices.revokeAllExcept(account.id, null)).toBe(1)
        expect(await store.devices.listByAccount(account.id)).toEqual([])
        expect(await store.tokens.getAccess(keptSession.access.id)).toBeNull()
      })

      it('never lets a token minted concurrently with revokeAllExcept outlive it', async () => {
        const { account, device: kept } = await signedIn(store, clock)
        const other = newDevice(clock, account.id)
        await store.devices.create(other)
        const tokens = Array.from({ length: 10 }, () => newAccess(clock, other))
        await Promise.all([
          ...tokens.slice(0, 5).map((t) => store.tokens.putAccess(t)),
          store.devices.revokeAllExcept(account.id, kept.id),
          ...tokens.slice(5).map((t) => store.tokens.putAccess(t)),
        ])
        for (const t of tokens) expect(await store.tokens.getAccess(t.id)).toBeNull()
      })
    })

    describe('access tokens', () => {
      it('stores a token and expires it exactly at expiresAtMs', async () => {
        const { device } = await signedIn(store, clock)
        const token = newAccess(clock, device, { expiresAtMs: clock.now() + 60_000, jkt: 'thumbprint' })
        expect(await store.tokens.putAccess(token)).toBe('ok')
        expect(await store.tokens.getAccess(token.id)).toEqual(token)
        clock.advance(59_999)
        expect(await store.tokens.getAccess(token.id)).toEqual(token)
        clock.advance(1)
        expect(await store.tokens.getAccess(token.id)).toBeNull()
        expect(await store.tokens.revokeAccess(token.id)).toBe(false)
      })

      it('revokes one token at once and leaves the device’s others', async () => {
        const { device } = await signedIn(store, clock)
        const [one, two] = [newAccess(clock, device), newAccess(clock, device)]
        await store.tokens.putAccess(one)
        await store.tokens.putAccess(two)
        expect(await store.tokens.revokeAccess(one.id)).toBe(true)
        expect(await store.tokens.getAccess(one.id)).toBeNull()
        expect(await store.tokens.getAccess(two.id)).toEqual(two)
        expect(await store.tokens.revokeAccess(one.id)).toBe(false)
        expect(await store.tokens.getAccess(uid('at'))).toBeNull()
      })

      it('refuses a duplicate id and mints nothing for an unknown device or an unusable account', async () => {
        const { account, device } = await signedIn(store, clock)
        const token = newAccess(clock, device)
        await store.tokens.putAccess(token)
        expect(await store.tokens.putAccess({ ...token, scopes: ['other'] })).toBe('exists')
        expect(await store.tokens.putAccess(newAccess(clock, newDevice(clock, account.id)))).toBe('denied')
        const locked = reviseAccount(account, { lockedUntilMs: clock.now() + 1 }, clock.now())
        await store.accounts.update(account.id, account.version, locked)
        expect(await store.tokens.putAccess(newAccess(clock, device))).toBe('denied')
        clock.advance(1)
        expect(await store.tokens.putAccess(newAccess(clock, device))).toBe('ok')
        await store.accounts.update(account.id, locked.version, reviseAccount(locked, { status: 'disabled' }, clock.now()))
        expect(await store.tokens.putAccess(newAccess(clock, device))).toBe('denied')
        expect(await store.tokens.getAccess(token.id)).toEqual(token)
      })

      it('refuses a token for a revoked family or another device’s family', async () => {
        const { account, device } = await signedIn(store, clock)
        const { family } = await session(store, clock, device)
        const sibling = newDevice(clock, account.id)
        await store.devices.create(sibling)
        expect(await store.tokens.putAccess(newAccess(clock, sibling, { familyId: family.id }))).toBe('denied')
        await store.tokens.revokeRefreshFamily(family.id)
        expect(await store.tokens.putAccess(newAccess(clock, device, { familyId: family.id }))).toBe('denied')
        expect(await store.tokens.putAccess(newAccess(clock, device, { familyId: uid('rf') }))).toBe('denied')
      })

      it('purges expired tokens and families and keeps live ones', async () => {
        const { device } = await signedIn(store, clock)
        const short = newAccess(clock, device, { expiresAtMs: clock.now() + 1000 })
        const long = newAccess(clock, device, { expiresAtMs: clock.now() + 100_000 })
        const family = newFamily(clock, device, { expiresAtMs: clock.now() + 1000 })
        await store.tokens.putAccess(short)
        await store.tokens.putAccess(long)
        await store.tokens.createRefreshFamily(family)
        clock.advance(1000)
        expect(await store.purgeExpired()).toBeGreaterThanOrEqual(0)
        expect(await store.tokens.getAccess(short.id)).toBeNull()
        expect(await store.tokens.getRefreshFamily(family.id)).toBeNull()
        expect(await store.tokens.getAccess(long.id)).toEqual(long)
      })
    })

    describe('refresh families', () => {
      const rotation = (familyId: string, presented: string, next: string, graceMs = 2_000) => ({
        familyId,
        presentedHash: hashOf(presented),
        nextHash: hashOf(next),
        graceMs,
      })

      it('creates a family once, for a live device only', async () => {
        const { account, device } = await signedIn(store, clock)
        const family = newFamily(clock, device, { jkt: 'thumb' })
        expect(await store.tokens.createRefreshFamily(family)).toBe('ok')
        expect(await store.tokens.getRefreshFamily(family.id)).toEqual(family)
        expect(await store.tokens.createRefreshFamily(family)).toBe('exists')
        expect(await store.tokens.createRefreshFamily(newFamily(clock, newDevice(clock, account.id)))).toBe('denied')
        expect(await store.tokens.getRefreshFamily(uid('rf'))).toBeNull()
      })

      it('rotates along the chain: only the current token refreshes', async () => {
        const { device } = await signedIn(store, clock)
        const family = newFamily(clock, device, { currentHash: hashOf('t0') })
        await store.tokens.createRefreshFamily(family)
        const first = await store.tokens.rotateRefresh(rotation(family.id, 't0', 't1'))
        expect(first.outcome).toBe('rotated')
        expect(first.family).toEqual({
          ...family,
          currentHash: hashOf('t1'),
          previousHash: hashOf('t0'),
          rotatedAtMs: clock.now(),
          generation: 1,
        })
        clock.advance(10)
        const second = await store.tokens.rotateRefresh(rotation(family.id, 't1', 't2'))
        expect([second.outcome, second.family?.generation]).toEqual(['rotated', 2])
        expect(await store.tokens.getRefreshFamily(family.id)).toEqual(second.family)
      })

      it('revokes the whole family when a token rotated earlier is presented again', async () => {
        const { account, device } = await signedIn(store, clock)
        const { family, access } = await session(store, clock, device)
        const plain = newAccess(clock, device)
        await store.tokens.putAccess(plain)
        const t0 = { ...rotation(family.id, 'unused', 't1'), presentedHash: family.currentHash }
        expect((await store.tokens.rotateRefresh(t0)).outcome).toBe('rotated')
        clock.advance(2_000) // past the grace window
        const replay = await store.tokens.rotateRefresh({ ...t0, nextHash: hashOf('evil') })
        expect(replay.outcome).toBe('reused')
        expect(replay.family?.revokedAtMs).toBe(clock.now())
        expect((await store.tokens.rotateRefresh(rotation(family.id, 't1', 't2'))).outcome).toBe('revoked')
        expect(await store.tokens.getAccess(access.id)).toBeNull()
        // Only the family goes: the device and its tokens from elsewhere stay.
        expect(await store.tokens.getAccess(plain.id)).toEqual(plain)
        expect(await store.devices.get(account.id, device.id)).not.toBeNull()
      })

      it('treats a token two rotations old as a replay even inside the grace window', async () => {
        const { device } = await signedIn(store, clock)
        const family = newFamily(clock, device, { currentHash: hashOf('t0') })
        await store.tokens.createRefreshFamily(family)
        await store.tokens.rotateRefresh(rotation(family.id, 't0', 't1'))
        await store.tokens.rotateRefresh(rotation(family.id, 't1', 't2'))
        expect((await store.tokens.rotateRefresh(rotation(family.id, 't0', 'x'))).outcome).toBe('reused')
      })

      it('keeps only the newest REFRESH_USED_KEPT rotated-out hashes of a family: older ones are unknown, newer ones replays (finding 63)', async () => {
        const { account, device } = await signedIn(store, clock)
        const family = newFamily(clock, device, { currentHash: hashOf('t0') })
        await store.tokens.createRefreshFamily(family)
        const last = REFRESH_USED_KEPT + 10
        for (let i = 0; i < last; i++)
          expect((await store.tokens.rotateRefresh(rotation(family.id, `t${i}`, `t${i + 1}`))).outcome).toBe('rotated')
        clock.advance(2_000)
        // t0..t9 fell out of the kept window: unknown, nothing revoked.
        for (const old of [0, 9]) expect((await store.tokens.rotateRefresh(rotation(family.id, `t${old}`, 'x'))).outcome).toBe('missing')
        expect((await store.tokens.getRefreshFamily(family.id))?.revokedAtMs).toBeUndefined()
        expect(await store.devices.get(account.id, device.id)).not.toBeNull()
        // t10, the oldest kept, is still a replay.
        expect((await store.tokens.rotateRefresh(rotation(family.id, 't10', 'x'))).outcome).toBe('reused')
      })

      it('answers raced, revoking nothing, for a duplicate of the last rotation inside the grace window', async () => {
        const { device } = await signedIn(store, clock)
        const family = newFamily(clock, device, { currentHash: hashOf('t0') })
        await store.tokens.createRefreshFamily(family)
        await store.tokens.rotateRefresh(rotation(family.id, 't0', 't1'))
        clock.advance(1_999)
        const duplicate = await store.tokens.rotateRefresh(rotation(family.id, 't0', 'loser'))
        expect(duplicate.outcome).toBe('raced')
        expect(duplicate.family?.revokedAtMs).toBeUndefined()
        expect(duplicate.family?.currentHash).toBe(hashOf('t1'))
        expect((await store.tokens.rotateRefresh(rotation(family.id, 't1', 't2'))).outcome).toBe('rotated')
      })

      it('counts a duplicate as a replay when the grace window is 0', async () => {
        const { device } = await signedIn(store, clock)
        const family = newFamily(clock, device, { currentHash: hashOf('t0') })
        await store.tokens.createRefreshFamily(family)
        await store.tokens.rotateRefresh(rotation(family.id, 't0', 't1', 0))
        expect((await store.tokens.rotateRefresh(rotation(family.id, 't0', 't9', 0))).outcome).toBe('reused')
      })

      it.each([2, 20])('lets one of %i concurrent refreshes of one token win and the others revoke nothing', async (n) => {
        const { device } = await signedIn(store, clock)
        const { family, access } = await session(store, clock, device)
        const results = await times(n, (i) =>
          store.tokens.rotateRefresh({
            familyId: family.id,
            presentedHash: family.currentHash,
            nextHash: hashOf(`next-${i}`),
            graceMs: 5_000,
          }),
        )
        const outcomes = results.map((r) => r.outcome)
        expect(count(outcomes, 'rotated')).toBe(1)
        expect(count(outcomes, 'raced')).toBe(n - 1)
        const winner = outcomes.indexOf('rotated')
        const stored = await store.tokens.getRefreshFamily(family.id)
        expect(stored?.revokedAtMs).toBeUndefined()
        expect(stored?.currentHash).toBe(hashOf(`next-${winner}`))
        expect(await store.tokens.getAccess(access.id)).toEqual(access)
        expect((await store.tokens.rotateRefresh(rotation(family.id, `next-${winner}`, 'after'))).outcome).toBe('rotated')
      })

      it('changes nothing for a token that never belonged to the family or an unknown family', async () => {
        const { device } = await signedIn(store, clock)
        const family = newFamily(clock, device, { currentHash: hashOf('t0') })
        await store.tokens.createRefreshFamily(family)
        expect(await store.tokens.rotateRefresh(rotation(family.id, 'forged', 'x'))).toEqual({ outcome: 'missing', family: null })
        expect((await store.tokens.rotateRefresh(rotation(uid('rf'), 't0', 'x'))).outcome).toBe('missing')
        expect(await store.tokens.getRefreshFamily(family.id)).toEqual(family)
      })

      it('treats an expired family as gone', async () => {
        const { device } = await signedIn(store, clock)
        const family = newFamily(clock, device, { currentHash: hashOf('t0'), expiresAtMs: clock.now() + DAY_MS })
        await store.tokens.createRefreshFamily(family)
        clock.advance(DAY_MS)
        expect((await store.tokens.rotateRefresh(rotation(family.id, 't0', 't1'))).outcome).toBe('missing')
        expect(await store.tokens.getRefreshFamily(family.id)).toBeNull()
        expect(await store.tokens.revokeRefreshFamily(family.id)).toBe(false)
      })

      it('denies a refresh while the account is locked or disabled, and keeps the family', async () => {
        const { account, device } = await signedIn(store, clock)
        const family = newFamily(clock, device, { currentHash: hashOf('t0') })
        await store.tokens.createRefreshFamily(family)
        const locked = reviseAccount(account, { lockedUntilMs: clock.now() + 1000 }, clock.now())
        await store.accounts.update(account.id, account.version, locked)
        expect((await store.tokens.rotateRefresh(rotation(family.id, 't0', 't1'))).outcome).toBe('denied')
        clock.advance(1000)
        expect((await store.tokens.rotateRefresh(rotation(family.id, 't0', 't1'))).outcome).toBe('rotated')
        await store.accounts.update(account.id, locked.version, reviseAccount(locked, { status: 'disabled' }, clock.now()))
        expect((await store.tokens.rotateRefresh(rotation(family.id, 't1', 't2'))).outcome).toBe('denied')
        expect((await store.tokens.getRefreshFamily(family.id))?.currentHash).toBe(hashOf('t1'))
      })

      it('revokes a family with its access tokens, once', async () => {
        const { device } = await signedIn(store, clock)
        const { family, access } = await session(store, clock, device)
        const plain = newAccess(clock, device)
        await store.tokens.putAccess(plain)
        expect(await store.tokens.revokeRefreshFamily(family.id)).toBe(true)
        expect(await store.tokens.revokeRefreshFamily(family.id)).toBe(false)
        expect(await store.tokens.getAccess(access.id)).toBeNull()
        expect(await store.tokens.getAccess(plain.id)).toEqual(plain)
        expect((await store.tokens.getRefreshFamily(family.id))?.revokedAtMs).toBe(clock.now())
      })
    })

    describe('security state', () => {
      const BOUNDS = { maxEvents: 3, retentionMs: DAY_MS }
      const event = (
        atMs: number,
        type: SecurityEvent['type'] = 'password_changed',
        extra: Partial<SecurityEvent> = {},
      ): SecurityEvent => ({
        type,
        atMs,
        ...extra,
      })

      it('keeps the latest last-authenticated mark of a device, never going back, and drops it with the device', async () => {
        const { account, device } = await signedIn(store, clock)
        expect(await store.security.lastAuthenticated(account.id, device.id)).toBeNull()
        expect(await store.security.markAuthenticated(account.id, device.id, clock.now() + 10)).toBe(true)
        expect(await store.security.markAuthenticated(account.id, device.id, clock.now() + 5)).toBe(true)
        expect(await store.security.lastAuthenticated(account.id, device.id)).toBe(clock.now() + 10)
        await times(10, (i) => store.security.markAuthenticated(account.id, device.id, clock.now() + 100 + i))
        expect(await store.security.lastAuthenticated(account.id, device.id)).toBe(clock.now() + 109)
        expect(await store.security.markAuthenticated(account.id, uid('no-device'), clock.now())).toBe(false)
        expect(await store.security.markAuthenticated(uid('nobody'), device.id, clock.now())).toBe(false)
        expect(await store.security.lastAuthenticated(uid('nobody'), device.id)).toBeNull()
        await store.devices.revoke(account.id, device.id)
        expect(await store.security.lastAuthenticated(account.id, device.id)).toBeNull()
        expect(await store.security.markAuthenticated(account.id, device.id, clock.now() + 200)).toBe(false)
      })

      it('appends events with strictly growing ids that follow the clock, and reads them after a cursor', async () => {
        const { account, device } = await signedIn(store, clock)
        const first = await store.security.appendEvent(account.id, event(clock.now(), 'device_signed_in', { deviceId: device.id }), BOUNDS)
        expect(first).toEqual({ id: clock.now(), type: 'device_signed_in', atMs: clock.now(), deviceId: device.id })
        const second = await store.security.appendEvent(
          account.id,
          event(clock.now(), 'recovery_code_used', { details: { codes_left: 9, last: false } }),
          BOUNDS,
        )
        expect(second?.id).toBe(clock.now() + 1)
        clock.advance(1_000)
        const third = await store.security.appendEvent(account.id, event(clock.now()), BOUNDS)
        expect(third?.id).toBe(clock.now())
        const all = await store.security.readEvents(account.id, 0, 10)
        expect(all).toEqual([first, second, third])
        expect(all[1]).toEqual({
          id: first!.id + 1,
          type: 'recovery_code_used',
          atMs: first!.atMs,
          details: { codes_left: 9, last: false },
        })
        expect(await store.security.readEvents(account.id, first!.id, 1)).toEqual([second])
        expect(await store.security.readEvents(account.id, third!.id, 10)).toEqual([])
      })

      it('appends a mint event with its session (createWithTokens), and none for a refused mint', async () => {
        const { account } = await signedIn(store, clock)
        const before = await store.security.appendEvent(account.id, event(clock.now()), BOUNDS)
        const device = newDevice(clock, account.id, { origin: 'qr' })
        const family = newFamily(clock, device)
        const access = newAccess(clock, device, { familyId: family.id })
        const signedInEvent = event(clock.now(), 'device_signed_in', {
          deviceId: device.id,
          details: { origin: 'qr', device_name: 'Phone' },
        })
        expect(await store.devices.createWithTokens(device, { family, access }, { event: signedInEvent, bounds: BOUNDS })).toBe('ok')
        expect(await store.tokens.getAccess(access.id)).toEqual(access)
        const feed = await store.security.readEvents(account.id, 0, 10)
        expect(feed).toEqual([before, { ...signedInEvent, id: before!.id + 1 }])
        // Refused (the same device again, or a locked account): no event either.
        const again = { family: newFamily(clock, device), access: newAccess(clock, device) }
        again.access.familyId = again.family.id
        const refused = { event: event(clock.now(), 'device_signed_in', { deviceId: device.id }), bounds: BOUNDS }
        expect(await store.devices.createWithTokens(device, again, refused)).toBe('exists')
        const locked = newAccount(clock, { lockedUntilMs: clock.now() + 60_000 })
        await store.accounts.create(locked)
        const lockedDevice = newDevice(clock, locked.id)
        const lockedFamily = newFamily(clock, lockedDevice)
        const lockedAccess = newAccess(clock, lockedDevice, { familyId: lockedFamily.id })
        expect(await store.devices.createWithTokens(lockedDevice, { family: lockedFamily, access: lockedAccess }, refused)).toBe('denied')
        expect(await store.security.readEvents(account.id, 0, 10)).toEqual(feed)
        expect(await store.security.readEvents(locked.id, 0, 10)).toEqual([])
      })

      /** A redemption plan's session on the account of `approver` (what its retries mint again). */
      const plannedSession = (approver: { account: AccountRecord; device: { id: string } }) => {
        const device = newDevice(clock, approver.account.id, {
          origin: 'qr',
          approvedByDeviceId: approver.device.id,
          channelHash: hashOf('ch'),
        })
        const family = newFamily(clock, device, { jkt: 'jkt-plan' })
        const access = newAccess(clock, device, { familyId: family.id, jkt: 'jkt-plan' })
        const append = { event: event(clock.now(), 'device_signed_in', { deviceId: device.id }), bounds: BOUNDS }
        return { device, tokens: { family, access }, append }
      }
      const signedInOf = async (accountId: string, deviceId: string) =>
        (await store.security.readEvents(accountId, 0, 10)).filter((e) => e.type === 'device_signed_in' && e.deviceId === deviceId)

      it.each([1, 2, 3])(
        'completes a planned session cut short after step %i of device, family, token, keeping its records, reporting it once',
        async (steps) => {
          const approver = await signedIn(store, clock)
          const { device, tokens, append } = plannedSession(approver)
          // An earlier try of the plan, a few seconds before: the same ids and secrets, its own times.
          const earlier = {
            device: { ...device, createdAtMs: clock.now() - 5000, lastSeenAtMs: clock.now() - 5000 },
            family: { ...tokens.family, createdAtMs: clock.now() - 5000, expiresAtMs: tokens.family.expiresAtMs - 5000 },
            access: { ...tokens.access, issuedAtMs: clock.now() - 5000, expiresAtMs: tokens.access.expiresAtMs - 5000 },
          }
          expect(await store.devices.create(earlier.device)).toBe('ok')
          if (steps >= 2) expect(await store.tokens.createRefreshFamily(earlier.family)).toBe('ok')
          if (steps >= 3) expect(await store.tokens.putAccess(earlier.access)).toBe('ok')
          // Unplanned, the part-made session is refused as before; planned, it is completed.
          expect(await store.devices.createWithTokens(device, tokens, append)).toBe('exists')
          expect(await signedInOf(approver.account.id, device.id)).toEqual([])
          expect(await store.devices.createWithTokens(device, tokens, append, true)).toBe('ok')
          expect(await store.devices.get(approver.account.id, device.id)).toEqual(earlier.device)
          expect(await store.tokens.getRefreshFamily(tokens.family.id)).toEqual(steps >= 2 ? earlier.family : tokens.family)
          expect(await store.tokens.getAccess(tokens.access.id)).toEqual(steps >= 3 ? earlier.access : tokens.access)
          expect((await store.devices.listByAccount(approver.account.id)).map((d) => d.id).sort()).toEqual(
            [approver.device.id, device.id].sort(),
          )
          expect(await signedInOf(approver.account.id, device.id)).toHaveLength(1)
          // Completed: another try writes nothing and reports nothing.
          expect(await store.devices.createWithTokens(device, tokens, append, true)).toBe('exists')
          expect(await signedInOf(approver.account.id, device.id)).toHaveLength(1)
          const rotate = { familyId: tokens.family.id, presentedHash: tokens.family.currentHash, nextHash: hashOf('next'), graceMs: 0 }
          expect((await store.tokens.rotateRefresh(rotate)).outcome).toBe('rotated')
        },
      )

      it('lets one of concurrent planned mints complete the session; the others find it completed', async () => {
        const approver = await signedIn(store, clock)
        const { device, tokens, append } = plannedSession(approver)
        const outcomes = await times(6, () => store.devices.createWithTokens(device, tokens, append, true))
        expect(count(outcomes, 'ok')).toBe(1)
        expect(count(outcomes, 'exists')).toBe(5)
        expect(await store.tokens.getAccess(tokens.access.id)).toEqual(tokens.access)
        expect(await signedInOf(approver.account.id, device.id)).toHaveLength(1)
      })

      it('writes nothing for a planned mint whose stored part is not the plan’s untouched one', async () => {
        // Completed, then refreshed: the family moved on.
        const approver = await signedIn(store, clock)
        const rotated = plannedSession(approver)
        expect(await store.devices.createWithTokens(rotated.device, rotated.tokens, rotated.append, true)).toBe('ok')
        const { family } = rotated.tokens
        const rotate = { familyId: family.id, presentedHash: family.currentHash, nextHash: hashOf('next'), graceMs: 0 }
        expect((await store.tokens.rotateRefresh(rotate)).outcome).toBe('rotated')
        expect(await store.tokens.revokeAccess(rotated.tokens.access.id)).toBe(true)
        expect(await store.devices.createWithTokens(rotated.device, rotated.tokens, rotated.append, true)).toBe('exists')
        expect(await store.tokens.getAccess(rotated.tokens.access.id)).toBeNull()
        // Cut short after the family, then signed out: the revoked family keeps its id, nothing comes back.
        const revoked = plannedSession(approver)
        expect(await store.devices.create(revoked.device)).toBe('ok')
        expect(await store.tokens.createRefreshFamily(revoked.tokens.family)).toBe('ok')
        expect(await store.devices.revoke(approver.account.id, revoked.device.id)).toBe(true)
        expect(await store.devices.createWithTokens(revoked.device, revoked.tokens, revoked.append, true)).toBe('exists')
        expect(await store.devices.get(approver.account.id, revoked.device.id)).toBeNull()
        // A stored token or family of another secret, or a device of another approver: not this plan's.
        for (const change of ['access', 'family', 'device'] as const) {
          const other = plannedSession(approver)
          const { device, tokens } = other
          expect(await store.devices.create(change === 'device' ? { ...device, approvedByDeviceId: 'someone-else' } : device)).toBe('ok')
          if (change !== 'device') {
            const family = change === 'family' ? { ...tokens.family, currentHash: hashOf('other') } : tokens.family
            expect(await store.tokens.createRefreshFamily(family)).toBe('ok')
          }
          if (change === 'access') expect(await store.tokens.putAccess({ ...tokens.access, secretHash: hashOf('other') })).toBe('ok')
          expect(await store.devices.createWithTokens(device, tokens, other.append, true)).toBe('exists')
          expect(await signedInOf(approver.account.id, device.id)).toEqual([])
        }
        // A locked account: denied, as unplanned.
        const locked = newAccount(clock, { lockedUntilMs: clock.now() + 60_000 })
        await store.accounts.create(locked)
        const lockedPlan = plannedSession({ account: locked, device: { id: 'approver' } })
        expect(await store.devices.createWithTokens(lockedPlan.device, lockedPlan.tokens, lockedPlan.append, true)).toBe('denied')
        expect(await store.devices.get(locked.id, lockedPlan.device.id)).toBeNull()
      })

      it('keeps only the newest events, drops them after the retention, and writes nothing for an unknown account', async () => {
        const { account } = await signedIn(store, clock)
        const ids: number[] = []
        for (let i = 0; i < 5; i++) ids.push((await store.security.appendEvent(account.id, event(clock.now()), BOUNDS))!.id)
        expect((await store.security.readEvents(account.id, 0, 10)).map((e) => e.id)).toEqual(ids.slice(-3))
        clock.advance(DAY_MS - 1)
        expect(await store.security.readEvents(account.id, 0, 10)).toHaveLength(3)
        clock.advance(1)
        expect(await store.security.readEvents(account.id, 0, 10)).toEqual([])
        const later = await store.security.appendEvent(account.id, event(clock.now()), BOUNDS)
        expect(await store.security.readEvents(account.id, 0, 10)).toEqual([later])
        expect(later!.id).toBeGreaterThan(ids.at(-1)!)
        const nobody = uid('nobody')
        expect(await store.security.appendEvent(nobody, event(clock.now()), BOUNDS)).toBeNull()
        expect(await store.security.readEvents(nobody, 0, 10)).toEqual([])
      })

      it('gives 20 concurrent appends 20 distinct ids, in order', async () => {
        const { account } = await signedIn(store, clock)
        const added = await times(20, () =>
          store.security.appendEvent(account.id, event(clock.now()), { maxEvents: 50, retentionMs: DAY_MS }),
        )
        const ids = added.map((e) => e!.id)
        expect(new Set(ids).size).toBe(20)
        expect((await store.security.readEvents(account.id, 0, 50)).map((e) => e.id)).toEqual([...ids].sort((a, b) => a - b))
      })
    })

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined()
    })
  })
}
