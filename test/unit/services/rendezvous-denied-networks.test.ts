/**
 * The creator deny list (`QRELAY_POLICY_DENIED_NETWORKS`): a creator on a listed network is refused;
 * without a list (or with an empty one) nobody is, whatever the address looks like.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { parseConfig } from '../../../src/config.ts'
import type { Cidr } from '../../../src/core/policy/network.ts'
import { parseCidr } from '../../../src/core/policy/network.ts'
import { rateLimiter } from '../../../src/services/rate-limiter.ts'
import { rendezvousService } from '../../../src/services/rendezvous.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const serviceWith = (deniedNetworks: readonly Cidr[] | undefined) => {
  const config = parseConfig({})
  const clock = fakeClock()
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  return rendezvousService({
    store,
    limiter: rateLimiter(store.counters, clock),
    clock,
    random: seededRandom(9),
    limits: config.rendezvous,
    rates: config.rateLimit,
    ...(deniedNetworks === undefined ? {} : { deniedNetworks }),
  })
}

const codeOf = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'created',
    (error: { code?: string }) => error.code ?? 'thrown',
  )

describe('rendezvous.create and the creator deny list', () => {
  it('refuses a listed network (mapped IPv6 and bracketed forms included), and creates for others', async () => {
    const rendezvous = serviceWith([parseCidr('203.0.113.0/24')!, parseCidr('2001:db8::/32')!])
    const create = (address: string | undefined) =>
      codeOf(rendezvous.create('msc4388', '', { clientKey: 'k', ...(address === undefined ? {} : { address }) }))
    expect(await create('203.0.113.9')).toBe('NETWORK_DENIED')
    expect(await create('::ffff:203.0.113.9')).toBe('NETWORK_DENIED')
    expect(await create('[2001:db8::1]')).toBe('NETWORK_DENIED')
    expect(await create('198.51.100.1')).toBe('created')
    expect(await create('not an address')).toBe('created')
    expect(await create(undefined)).toBe('created')
  })

  it('refuses nobody without a list or with an empty one', async () => {
    for (const list of [undefined, []]) {
      const rendezvous = serviceWith(list)
      for (const address of ['203.0.113.9', 'not an address', '']) {
        expect(await codeOf(rendezvous.create('msc4388', '', { clientKey: 'k', address }))).toBe('created')
      }
    }
  })
})
