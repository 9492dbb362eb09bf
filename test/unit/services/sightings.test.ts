import { describe, expect, it } from 'vitest'
import type { NetworkLocator } from '../../../src/ports.ts'
import { sightings } from '../../../src/services/sightings.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'

const REQUEST = new Request('https://relay.example/oauth2/token')

describe('sightings', () => {
  it('an unknown address is a sighting with the time only', async () => {
    const clock = fakeClock()
    expect(await sightings({ clock }).of('poll', 'unknown', REQUEST)).toEqual({ source: 'poll', atMs: clock.now() })
  })

  it('without a locator, the address and the time', async () => {
    const clock = fakeClock()
    expect(await sightings({ clock }).of('approval', '198.51.100.7', REQUEST)).toEqual({
      source: 'approval',
      atMs: clock.now(),
      ip: '198.51.100.7',
    })
  })

  it('with a locator, its ASN and location too, from the address and the raw request', async () => {
    const clock = fakeClock()
    const seen: Array<[string, Request]> = []
    const locator: NetworkLocator = {
      locate: (ip, request) => {
        seen.push([ip, request])
        return { asn: 64500, geo: { latitude: 48.1, longitude: 11.6 } }
      },
    }
    const sighting = await sightings({ clock, locator }).of('device_authorization', '198.51.100.7', REQUEST)
    expect(sighting).toEqual({
      source: 'device_authorization',
      atMs: clock.now(),
      ip: '198.51.100.7',
      asn: 64500,
      geo: { latitude: 48.1, longitude: 11.6 },
    })
    expect(seen).toEqual([['198.51.100.7', REQUEST]])
  })

  it('a failing locator only loses the extra facts', async () => {
    const clock = fakeClock()
    const locator: NetworkLocator = {
      locate: async () => {
        throw new Error('mmdb unreadable')
      },
    }
    expect(await sightings({ clock, locator }).of('poll', '198.51.100.7', REQUEST)).toEqual({
      source: 'poll',
      atMs: clock.now(),
      ip: '198.51.100.7',
    })
  })

  it('tells the ASN for abuse counting only when a locator exists; a failing one gives none', async () => {
    const clock = fakeClock()
    const none = sightings({ clock })
    expect(none.locates).toBe(false)
    expect(await none.asnOf('198.51.100.7', REQUEST)).toBeUndefined()
    const located = sightings({ clock, locator: { locate: () => ({ asn: 64501 }) } })
    expect(located.locates).toBe(true)
    expect(await located.asnOf('198.51.100.7', REQUEST)).toBe(64501)
    const failing = sightings({
      clock,
      locator: {
        locate: () => {
          throw new Error('down')
        },
      },
    })
    expect(await failing.asnOf('198.51.100.7', REQUEST)).toBeUndefined()
  })
})
