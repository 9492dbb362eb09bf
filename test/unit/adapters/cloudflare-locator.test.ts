import { describe, expect, it } from 'vitest'
import { cfFacts, cloudflareLocator } from '../../../src/adapters/geo/cloudflare.ts'

describe('cloudflare locator (request.cf → proximity facts)', () => {
  it('reads ASN, country and coordinates, strings or numbers', () => {
    expect(cfFacts({ asn: 13335, country: 'DE', latitude: '52.52000', longitude: '13.40500' })).toEqual({
      asn: 13335,
      country: 'DE',
      geo: { latitude: 52.52, longitude: 13.405 },
    })
    expect(cfFacts({ asn: '64500', latitude: -33.9, longitude: 151.2 })).toEqual({ asn: 64500, geo: { latitude: -33.9, longitude: 151.2 } })
  })

  it('leaves out what is missing or nonsense, and never throws', () => {
    expect(cfFacts(undefined)).toEqual({})
    expect(cfFacts({})).toEqual({})
    expect(cfFacts({ asn: 0, country: 'germany', latitude: '91', longitude: '10' })).toEqual({})
    expect(cfFacts({ asn: 'x', latitude: '', longitude: '' })).toEqual({})
    expect(cfFacts({ latitude: '10' })).toEqual({})
  })

  it('reads the cf object of the request it is given', async () => {
    const peer = { headers: { 'cf-connecting-ip': '192.0.2.1' } }
    const request = Object.assign(new Request('https://relay.example/', peer), { cf: { asn: 3320, country: 'DE' } })
    expect(await cloudflareLocator.locate('192.0.2.1', request)).toEqual({ asn: 3320, country: 'DE' })
    expect(await cloudflareLocator.locate('::ffff:192.0.2.1', request)).toEqual({ asn: 3320, country: 'DE' })
    expect(await cloudflareLocator.locate('192.0.2.1', new Request('https://relay.example/', peer))).toEqual({})
  })

  it('finding 77: tells nothing of an address Cloudflare did not see (a client named by a proxy of its own)', async () => {
    const request = Object.assign(new Request('https://relay.example/', { headers: { 'cf-connecting-ip': '100.64.0.5' } }), {
      cf: { asn: 64_496, country: 'DE', latitude: '50.11', longitude: '8.68' },
    })
    expect(await cloudflareLocator.locate('203.0.113.9', request)).toEqual({})
    const unnamed = Object.assign(new Request('https://relay.example/'), { cf: { asn: 64_496 } })
    expect(await cloudflareLocator.locate('203.0.113.9', unnamed)).toEqual({})
  })
})
