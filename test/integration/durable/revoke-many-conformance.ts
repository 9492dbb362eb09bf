/**
 * The contract of `DeviceStore.revokeMany` (finding 44), part of the durable conformance suite
 * (`describeDurableStore` in ./conformance.ts) and so run on every adapter: the sign-out of chosen
 * devices of one account (devices, access tokens, refresh families) and the feed event land in one
 * step, or nothing does.
 */
import { describe, expect, it } from 'vitest'
import type { DeviceRecord } from '../../../src/core/accounts/records.ts'
import type { CountedFeedAppend, DurableStore, SecurityEvent } from '../../../src/ports.ts'
import type { FakeClock } from '../../helpers/fake-clock.ts'
import { DAY_MS, hashOf, newAccess, newDevice, session, signedIn, uid } from './fixtures.ts'

const BOUNDS = { maxEvents: 10, retentionMs: DAY_MS }

/** An account with four devices (the first the reporter), each with a session, and one event in its feed. */
const fourDevices = async (store: DurableStore, clock: FakeClock) => {
  const { account, device: reporter } = await signedIn(store, clock)
  const channelHash = hashOf(uid('channel'))
  const reported = newDevice(clock, account.id, { origin: 'qr', channelHash })
  const sibling = newDevice(clock, account.id, { origin: 'qr', channelHash })
  const bystander = newDevice(clock, account.id)
  for (const d of [reported, sibling, bystander]) expect(await store.devices.create(d)).toBe('ok')
  const sessions = new Map<string, Awaited<ReturnType<typeof session>>>()
  for (const d of [reporter, reported, sibling, bystander]) sessions.set(d.id, await session(store, clock, d))
  const before = await store.security.appendEvent(
    account.id,
    { type: 'device_signed_in', atMs: clock.now(), deviceId: reporter.id },
    BOUNDS,
  )
  return { account, reporter, reported, sibling, bystander, sessions, before: before?.id ?? 0 }
}

const notMe = (clock: FakeClock, reported: DeviceRecord, reporter: DeviceRecord): { event: SecurityEvent; append: CountedFeedAppend } => {
  const event: SecurityEvent = { type: 'device_not_me', atMs: clock.now(), deviceId: reported.id, details: { reported_by: reporter.id } }
  return { event, append: { event, bounds: BOUNDS, countAs: 'revoked' } }
}

const rotateOf = (family: { id: string; currentHash: string }) => ({
  familyId: family.id,
  presentedHash: family.currentHash,
  nextHash: hashOf(uid('n')),
  graceMs: 0,
})

/** The suite; `get` gives the current test's store and clock (made in the caller's `beforeEach`). */
export const describeRevokeMany = (get: () => { store: DurableStore; clock: FakeClock }): void => {
  describe('devices.revokeMany ("not me", the operator\'s sign-out)', () => {
    it('signs out the devices asked, with their tokens and families, and appends the counted event, in one step', async () => {
      const { store, clock } = get()
      const { account, reporter, reported, sibling, bystander, sessions, before } = await fourDevices(store, clock)
      const stranger = await signedIn(store, clock)
      const strangerSession = await session(store, clock, stranger.device)
      clock.advance(1000)
      const { event, append } = notMe(clock, reported, reporter)

      // An unknown id, a repeat and another account's device are left out; the order asked is kept.
      const asked = [sibling.id, uid('gone'), reported.id, sibling.id, stranger.device.id]
      const result = await store.devices.revokeMany(account.id, asked, append)
      const stored = { ...event, details: { ...event.details, revoked: 2 } }
      expect(result).toEqual({ revoked: [sibling.id, reported.id], event: { id: expect.any(Number), ...stored } })
      expect(result.event?.id).toBeGreaterThan(before)

      expect((await store.devices.listByAccount(account.id)).map((d) => d.id).sort()).toEqual([reporter.id, bystander.id].sort())
      for (const d of [reported, sibling]) {
        const s = sessions.get(d.id)
        expect(await store.devices.get(account.id, d.id)).toBeNull()
        expect(await store.tokens.getAccess(s?.access.id ?? '')).toBeNull()
        expect((await store.tokens.rotateRefresh(rotateOf(s?.family ?? { id: '', currentHash: '' }))).outcome).toBe('revoked')
      }
      for (const d of [reporter, bystander]) {
        const s = sessions.get(d.id)
        expect(await store.tokens.getAccess(s?.access.id ?? '')).toEqual(s?.access)
        expect((await store.tokens.rotateRefresh(rotateOf(s?.family ?? { id: '', currentHash: '' }))).outcome).toBe('rotated')
      }
      expect(await store.security.readEvents(account.id, before, 10)).toEqual([result.event])
      // The other account is untouched, its device included.
      expect(await store.devices.get(stranger.account.id, stranger.device.id)).toEqual(stranger.device)
      expect(await store.tokens.getAccess(strangerSession.access.id)).toEqual(strangerSession.access)
      expect(await store.security.readEvents(stranger.account.id, 0, 10)).toEqual([])
    })

    it('kills every access token and refresh family of a signed-out device, however many (finding 45: a revocation signs out by it)', async () => {
      const { store, clock } = get()
      const { account, reporter, reported, sessions } = await fourDevices(store, clock)
      // A second family (a page hand-over's), a second access token of the first, one of no family, a bound one.
      const first = sessions.get(reported.id) as Awaited<ReturnType<typeof session>>
      const second = await session(store, clock, reported)
      const extra = [
        newAccess(clock, reported, { familyId: first.family.id }),
        newAccess(clock, reported),
        newAccess(clock, reported, { jkt: 'k' }),
      ]
      for (const t of extra) expect(await store.tokens.putAccess(t)).toBe('ok')
      clock.advance(1000)
      const { append } = notMe(clock, reported, reporter)
      expect((await store.devices.revokeMany(account.id, [reported.id], append)).revoked).toEqual([reported.id])
      for (const t of [first.access, second.access, ...extra]) expect(await store.tokens.getAccess(t.id)).toBeNull()
      for (const family of [first.family, second.family]) {
        expect((await store.tokens.getRefreshFamily(family.id))?.revokedAtMs).toBe(clock.now())
        expect((await store.tokens.rotateRefresh(rotateOf(family))).outcome).toBe('revoked')
      }
      expect(await store.tokens.revokeAccess(first.access.id)).toBe(false)
      expect(await store.tokens.revokeRefreshFamily(second.family.id)).toBe(false)
    })

    it('appends nothing when nothing was signed out: unknown ids, no ids, an unknown account, signed out already', async () => {
      const { store, clock } = get()
      const { account, reporter, reported, before } = await fourDevices(store, clock)
      const { append } = notMe(clock, reported, reporter)
      const nothing = { revoked: [], event: null }
      expect(await store.devices.revokeMany(account.id, [uid('gone')], append)).toEqual(nothing)
      expect(await store.devices.revokeMany(account.id, [], append)).toEqual(nothing)
      expect(await store.devices.revokeMany(uid('nobody'), [reported.id], append)).toEqual(nothing)
      expect(await store.devices.revoke(account.id, reported.id)).toBe(true)
      expect(await store.devices.revokeMany(account.id, [reported.id], append)).toEqual(nothing)
      expect(await store.devices.listByAccount(account.id)).toHaveLength(3)
      expect(await store.security.readEvents(account.id, before, 10)).toEqual([])
    })

    it('appends the event as given without countAs, and none without append', async () => {
      const { store, clock } = get()
      const { account, sibling, bystander, before } = await fourDevices(store, clock)
      const event: SecurityEvent = { type: 'device_revoked', atMs: clock.now(), deviceId: bystander.id, details: { by: 'operator' } }
      const result = await store.devices.revokeMany(account.id, [bystander.id], { event, bounds: BOUNDS })
      expect(result).toEqual({ revoked: [bystander.id], event: { id: expect.any(Number), ...event } })
      expect(await store.devices.revokeMany(account.id, [sibling.id])).toEqual({ revoked: [sibling.id], event: null })
      expect(await store.security.readEvents(account.id, before, 10)).toEqual([result.event])
      expect(await store.devices.listByAccount(account.id)).toHaveLength(2)
    })

    it('signs each device out once among 10 concurrent calls, with one event per call that signed one out', async () => {
      const { store, clock } = get()
      const { account, reporter, reported, sibling, before } = await fourDevices(store, clock)
      const { append } = notMe(clock, reported, reporter)
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.devices.revokeMany(account.id, [reported.id, sibling.id], append)),
      )
      expect(results.flatMap((r) => r.revoked).sort()).toEqual([reported.id, sibling.id].sort())
      const events = results.flatMap((r) => (r.event === null ? [] : [r.event]))
      for (const r of results) expect(r.event === null).toBe(r.revoked.length === 0)
      expect(events.map((e) => e.details?.revoked).reduce((a, b) => Number(a) + Number(b), 0)).toBe(2)
      expect(await store.security.readEvents(account.id, before, 10)).toEqual(events.sort((a, b) => a.id - b.id))
    })

    it('never lets a token minted concurrently with the sign-out outlive its device', async () => {
      const { store, clock } = get()
      const { account, reporter, reported, sessions } = await fourDevices(store, clock)
      const family = sessions.get(reported.id)?.family
      const tokens = Array.from({ length: 10 }, () => newAccess(clock, reported, { familyId: family?.id ?? '' }))
      const { append } = notMe(clock, reported, reporter)
      await Promise.all([
        ...tokens.slice(0, 5).map((t) => store.tokens.putAccess(t)),
        store.devices.revokeMany(account.id, [reported.id], append),
        ...tokens.slice(5).map((t) => store.tokens.putAccess(t)),
      ])
      for (const t of tokens) expect(await store.tokens.getAccess(t.id)).toBeNull()
    })
  })
}
