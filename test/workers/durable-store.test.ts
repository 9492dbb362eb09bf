/**
 * The Durable Object durable store inside workerd: the shared durable-store conformance suite, then
 * what only this adapter has (username claims left behind by a crash, the key object, the alarm).
 */
import { env } from 'cloudflare:workers'
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { durableObjectDurableStore, STALE_CLAIM_MS } from '../../src/adapters/durable/durable-object.ts'
import { durableObjectKeyStore } from '../../src/adapters/keys/durable-object-keystore.ts'
import { hash32 } from '../../src/adapters/storage/durable-object.ts'
import { newKeySet } from '../../src/core/crypto/signing-key-set.ts'
import { describeDurableStore } from '../integration/durable/conformance.ts'
import { newAccess, newAccount, newDevice, newFamily, signedIn, uid } from '../integration/durable/fixtures.ts'
import { fakeClock, type FakeClock } from '../helpers/fake-clock.ts'
import { seededRandom } from '../helpers/seeded-random.ts'

let serial = 0
const freshPrefix = (): string => `t${Date.now().toString(36)}-${serial++}:`
/** A store over the test Worker's bindings, under a fresh name prefix: every store starts empty. */
const makeStore = (clock: FakeClock, namePrefix = freshPrefix(), shards?: number) =>
  durableObjectDurableStore({
    accounts: env.RELAY_ACCOUNT,
    index: env.RELAY_ACCOUNT_INDEX,
    clock,
    namePrefix,
    ...(shards === undefined ? {} : { shards }),
  })

describeDurableStore('durable-object', (clock) => makeStore(clock))

describe('durableObjectDurableStore', () => {
  const SHARDS = 4
  /** The index shard of `key` under `prefix`, as the adapter names it. */
  const shardOf = (prefix: string, key: string) => env.RELAY_ACCOUNT_INDEX.getByName(`${prefix}idx:${hash32(key) % SHARDS}`)

  it('frees a username whose claim was left unconfirmed, once the claim is stale', async () => {
    const clock = fakeClock(Date.now())
    const prefix = freshPrefix()
    const store = makeStore(clock, prefix, SHARDS)
    const username = uid('carol')
    // A registration that crashed after claiming the name: the index holds it, no account exists.
    await shardOf(prefix, `u:${username}`).claim(`u:${username}`, 'crashed-id', clock.now(), null, false)
    const account = newAccount(clock, { username })
    expect(await store.accounts.create(account)).toBe('exists')
    expect(await store.accounts.findByUsername(username)).toBeNull()
    clock.advance(STALE_CLAIM_MS)
    expect(await store.accounts.create(account)).toBe('ok')
    expect(await store.accounts.findByUsername(username)).toEqual(account)
    // The crashed registration, if it ever resumes, may not take the name any more.
    const late = env.RELAY_ACCOUNT.getByName(`${prefix}acct:crashed-id`)
    expect(await late.createAccount(newAccount(clock, { id: 'crashed-id', username }), username)).toBe('exists')
  })

  it('keeps a username whose account exists though its claim was never confirmed', async () => {
    const clock = fakeClock(Date.now())
    const prefix = freshPrefix()
    const store = makeStore(clock, prefix, SHARDS)
    const first = newAccount(clock, { username: uid('dave') })
    // The account was created but the confirmation was lost.
    await shardOf(prefix, `u:${first.username}`).claim(`u:${first.username}`, first.id, clock.now(), null, false)
    const holder = env.RELAY_ACCOUNT.getByName(`${prefix}acct:${first.id}`)
    expect(await holder.createAccount(first, first.username)).toBe('ok')
    clock.advance(STALE_CLAIM_MS)
    expect(await store.accounts.create(newAccount(clock, { username: first.username }))).toBe('exists')
    expect(await store.accounts.findByUsername(first.username)).toEqual(first)
  })

  it('completes a planned session mint cut after its look-up claims (the account never reached): the retry mints it once', async () => {
    const clock = fakeClock(Date.now())
    const prefix = freshPrefix()
    const store = makeStore(clock, prefix, SHARDS)
    const { account, device: approver } = await signedIn(store, clock)
    const device = newDevice(clock, account.id, { origin: 'qr', approvedByDeviceId: approver.id, channelHash: 'ch' })
    const family = newFamily(clock, device, { jkt: 'jkt-plan' })
    const access = newAccess(clock, device, { familyId: family.id, jkt: 'jkt-plan' })
    const append = {
      event: { type: 'device_signed_in' as const, atMs: clock.now(), deviceId: device.id },
      bounds: { maxEvents: 10, retentionMs: 86_400_000 },
    }
    // The first try claimed both look-ups, then its Worker died before the account object's step.
    for (const key of [`rf:${family.id}`, `at:${access.id}`]) {
      expect((await shardOf(prefix, key).claim(key, account.id, clock.now(), family.expiresAtMs, true)).outcome).toBe('new')
    }
    expect(await store.tokens.getRefreshFamily(family.id)).toBeNull()
    expect(await store.devices.get(account.id, device.id)).toBeNull()
    clock.advance(5000)
    expect(await store.devices.createWithTokens(device, { family, access }, append, true)).toBe('ok')
    expect(await store.devices.get(account.id, device.id)).toEqual(device)
    expect(await store.tokens.getRefreshFamily(family.id)).toEqual(family)
    expect(await store.tokens.getAccess(access.id)).toEqual(access)
    expect(await store.devices.createWithTokens(device, { family, access }, append, true)).toBe('exists')
    const signedInEvents = (await store.security.readEvents(account.id, 0, 10)).filter((e) => e.type === 'device_signed_in')
    expect(signedInEvents.map((e) => e.deviceId)).toEqual([device.id])
  })

  it('keeps the claims of a refused planned mint (a concurrent retry of the plan may hold them)', async () => {
    const clock = fakeClock(Date.now())
    const prefix = freshPrefix()
    const store = makeStore(clock, prefix, SHARDS)
    const locked = newAccount(clock, { lockedUntilMs: clock.now() + 60_000 })
    expect(await store.accounts.create(locked)).toBe('ok')
    const device = newDevice(clock, locked.id, { origin: 'qr' })
    const family = newFamily(clock, device)
    const access = newAccess(clock, device, { familyId: family.id })
    expect(await store.devices.createWithTokens(device, { family, access }, undefined, true)).toBe('denied')
    for (const key of [`rf:${family.id}`, `at:${access.id}`]) expect(await shardOf(prefix, key).lookup(key, clock.now())).toBe(locked.id)
    // Unplanned, the same refusal releases them.
    const other = newDevice(clock, locked.id)
    const otherFamily = newFamily(clock, other)
    const otherAccess = newAccess(clock, other, { familyId: otherFamily.id })
    expect(await store.devices.createWithTokens(other, { family: otherFamily, access: otherAccess })).toBe('denied')
    for (const key of [`rf:${otherFamily.id}`, `at:${otherAccess.id}`])
      expect(await shardOf(prefix, key).lookup(key, clock.now())).toBeNull()
  })

  const entriesIn = (prefix: string, shard: number) =>
    runInDurableObject(env.RELAY_ACCOUNT_INDEX.getByName(`${prefix}idx:${shard}`), (_, state) =>
      state.storage.sql
        .exec('SELECT key FROM entries')
        .toArray()
        .map((row) => String(row.key)),
    )

  it('spreads look-ups over the index shards and releases the claim of a refused mint', async () => {
    const clock = fakeClock(Date.now())
    const prefix = freshPrefix()
    const store = makeStore(clock, prefix, SHARDS)
    const { device } = await signedIn(store, clock)
    for (let i = 0; i < 7; i++) await signedIn(store, clock)
    const stranger = newAccess(clock, { ...device, id: 'no-such-device' })
    expect(await store.tokens.putAccess(stranger)).toBe('denied')
    const perShard = await Promise.all(Array.from({ length: SHARDS }, (_, i) => entriesIn(prefix, i)))
    expect(perShard.flat().filter((key) => key.startsWith('u:'))).toHaveLength(8)
    expect(perShard.filter((keys) => keys.length > 0).length).toBeGreaterThan(1)
    expect(perShard.flat()).not.toContain(`at:${stranger.id}`)
  })

  it('writes nothing when an unknown account is read', async () => {
    const clock = fakeClock(Date.now())
    const prefix = freshPrefix()
    const store = makeStore(clock, prefix)
    expect(await store.accounts.get('ghost')).toBeNull()
    expect(await store.devices.listByAccount('ghost')).toEqual([])
    const tables = await runInDurableObject(
      env.RELAY_ACCOUNT.getByName(`${prefix}acct:ghost`),
      (_, state) => state.storage.sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").one().n,
    )
    expect(tables).toBe(0)
  })

  it('frees expired access tokens when the account object’s alarm runs', async () => {
    // Minted on a clock 200 s in the past: by the object's own clock the token has expired already.
    const clock = fakeClock(Date.now() - 200_000)
    const prefix = freshPrefix()
    const store = makeStore(clock, prefix)
    const { account, device } = await signedIn(store, clock)
    const token = newAccess(clock, device, { expiresAtMs: clock.now() + 1000 })
    const family = newFamily(clock, device, { expiresAtMs: clock.now() + 1000 })
    const live = newAccess(clock, device, { expiresAtMs: Date.now() + 600_000 })
    for (const t of [token, live]) expect(await store.tokens.putAccess(t)).toBe('ok')
    expect(await store.tokens.createRefreshFamily(family)).toBe('ok')
    const stub = env.RELAY_ACCOUNT.getByName(`${prefix}acct:${account.id}`)
    await runDurableObjectAlarm(stub)
    const left = await runInDurableObject(stub, (_, state) => ({
      tokens: state.storage.sql
        .exec('SELECT id FROM access_tokens')
        .toArray()
        .map((row) => row.id),
      families: state.storage.sql.exec('SELECT count(*) AS n FROM refresh_families').one().n,
    }))
    expect(left).toEqual({ tokens: [live.id], families: 0 })
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBe(live.expiresAtMs + 60_000)
    expect(await store.devices.get(account.id, device.id)).toEqual(device)
  })
})

describe('durableObjectKeyStore', () => {
  it('keeps the first saved set: a second first start gets the same keys', async () => {
    const store = durableObjectKeyStore(env.RELAY_KEYS, `keys-${freshPrefix()}`)
    expect(store.kind).toBe('durable-object')
    expect(await store.load()).toBeNull()
    const first = newKeySet(seededRandom(1), 1_000)
    const second = newKeySet(seededRandom(2), 2_000)
    expect(await store.saveIfAbsent(first)).toEqual(first)
    expect(await store.saveIfAbsent(second)).toEqual(first)
    expect(await store.load()).toEqual(first)
    await store.save(second)
    expect(await store.load()).toEqual(second)
  })

  it('lets one of two concurrent first saves win', async () => {
    const store = durableObjectKeyStore(env.RELAY_KEYS, `keys-${freshPrefix()}`)
    const sets = [newKeySet(seededRandom(3), 1), newKeySet(seededRandom(4), 1)]
    const [a, b] = await Promise.all(sets.map((s) => store.saveIfAbsent(s)))
    expect(a).toEqual(b)
  })
})
