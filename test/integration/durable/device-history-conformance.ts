/**
 * The contract of a device's recent networks (`DeviceRecord.recentNetworks`, finding 49), part of the
 * durable conformance suite (`describeDurableStore` in ./conformance.ts) and so run on every adapter:
 * `devices.touch` keeps them in the write that moves the last sighting (the merge of
 * `src/core/accounts/recent-networks.ts`; the Redis script mirrors it), bounded, one entry per network,
 * and they go with the device.
 */
import { describe, expect, it } from 'vitest'
import { RECENT_NETWORKS_MAX } from '../../../src/core/accounts/recent-networks.ts'
import type { DurableStore } from '../../../src/ports.ts'
import type { FakeClock } from '../../helpers/fake-clock.ts'
import { DAY_MS, newDevice, signedIn } from './fixtures.ts'

export const describeDeviceHistory = (get: () => { store: DurableStore; clock: FakeClock }): void => {
  describe('devices: recent networks (finding 49)', () => {
    it('has none on a record made without them, and folds its last network in at the first touch', async () => {
      const { store, clock } = get()
      const { account } = await signedIn(store, clock)
      const device = newDevice(clock, account.id, { lastSeenNetwork: 'office' })
      expect(await store.devices.create(device)).toBe('ok')
      const stored = await store.devices.get(account.id, device.id)
      expect(stored).toEqual(device)
      expect(stored).not.toHaveProperty('recentNetworks')
      expect(await store.devices.touch(account.id, device.id, { atMs: clock.now() + 10, network: 'home' })).toBe(true)
      const touched = await store.devices.get(account.id, device.id)
      expect(touched?.recentNetworks).toEqual([
        { network: 'home', atMs: clock.now() + 10 },
        { network: 'office', atMs: clock.now() },
      ])
      expect(touched?.lastSeenNetwork).toBe('home')
    })

    it('keeps one entry per network, its most recent sighting, the newest first', async () => {
      const { store, clock } = get()
      const { account, device } = await signedIn(store, clock)
      const t = clock.now()
      for (const [dt, network] of [
        [10, 'n1'],
        [20, 'n2'],
        [30, 'n1'],
      ] as const) {
        await store.devices.touch(account.id, device.id, { atMs: t + dt, network })
      }
      // A sighting without a network keeps the history (and clears the last network).
      await store.devices.touch(account.id, device.id, { atMs: t + 40 })
      const seen = await store.devices.get(account.id, device.id)
      expect(seen?.recentNetworks).toEqual([
        { network: 'n1', atMs: t + 30 },
        { network: 'n2', atMs: t + 20 },
      ])
      expect(seen?.lastSeenNetwork).toBeUndefined()
      expect((await store.devices.listByAccount(account.id))[0]?.recentNetworks).toEqual(seen?.recentNetworks)
    })

    it(`keeps the ${RECENT_NETWORKS_MAX} most recent networks, none older than 30 days before the newest`, async () => {
      const { store, clock } = get()
      const { account, device } = await signedIn(store, clock)
      const t = clock.now()
      for (let i = 0; i < RECENT_NETWORKS_MAX + 3; i++) await store.devices.touch(account.id, device.id, { atMs: t + i, network: `m${i}` })
      const bounded = (await store.devices.get(account.id, device.id))?.recentNetworks
      expect(bounded?.map((e) => e.network)).toEqual(
        Array.from({ length: RECENT_NETWORKS_MAX }, (_, i) => `m${RECENT_NETWORKS_MAX + 2 - i}`),
      )
      await store.devices.touch(account.id, device.id, { atMs: t + 31 * DAY_MS, network: 'later' })
      expect((await store.devices.get(account.id, device.id))?.recentNetworks).toEqual([{ network: 'later', atMs: t + 31 * DAY_MS }])
    })

    it('keeps a late sighting in the history while the last sighting moves forward only, also under concurrent touches', async () => {
      const { store, clock } = get()
      const { account, device } = await signedIn(store, clock)
      const t = clock.now()
      await store.devices.touch(account.id, device.id, { atMs: t + 10, network: 'a' })
      await store.devices.touch(account.id, device.id, { atMs: t + 5, network: 'b' })
      const seen = await store.devices.get(account.id, device.id)
      expect([seen?.lastSeenAtMs, seen?.lastSeenNetwork]).toEqual([t + 10, 'a'])
      expect(seen?.recentNetworks).toEqual([
        { network: 'a', atMs: t + 10 },
        { network: 'b', atMs: t + 5 },
      ])
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.devices.touch(account.id, device.id, { atMs: t + 100 + i, network: `m${i}` })),
      )
      const last = await store.devices.get(account.id, device.id)
      expect(last?.recentNetworks).toEqual(
        Array.from({ length: RECENT_NETWORKS_MAX }, (_, i) => ({ network: `m${19 - i}`, atMs: t + 119 - i })),
      )
    })

    it('reads back a history stored with the device, and merges into it', async () => {
      const { store, clock } = get()
      const { account } = await signedIn(store, clock)
      const t = clock.now()
      const recentNetworks = [
        { network: 'home', atMs: t },
        { network: 'office', atMs: t - DAY_MS },
      ]
      const device = newDevice(clock, account.id, { lastSeenNetwork: 'home', recentNetworks })
      expect(await store.devices.create(device)).toBe('ok')
      expect(await store.devices.get(account.id, device.id)).toEqual(device)
      await store.devices.touch(account.id, device.id, { atMs: t + 1, network: 'office' })
      expect((await store.devices.get(account.id, device.id))?.recentNetworks).toEqual([
        { network: 'office', atMs: t + 1 },
        { network: 'home', atMs: t },
      ])
    })

    it('is gone with the device: a device made again under its id starts without one', async () => {
      const { store, clock } = get()
      const { account, device } = await signedIn(store, clock)
      await store.devices.touch(account.id, device.id, { atMs: clock.now() + 10, network: 'office' })
      expect((await store.devices.get(account.id, device.id))?.recentNetworks).toHaveLength(1)
      expect(await store.devices.revoke(account.id, device.id)).toBe(true)
      expect(await store.devices.touch(account.id, device.id, { atMs: clock.now() + 20, network: 'home' })).toBe(false)
      expect(await store.devices.create(device)).toBe('ok')
      const again = await store.devices.get(account.id, device.id)
      expect(again).toEqual(device)
      expect(again).not.toHaveProperty('recentNetworks')
    })
  })
}
