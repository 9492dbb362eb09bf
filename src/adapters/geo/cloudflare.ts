/**
 * The Workers network locator: Cloudflare tells each request's ASN, country and approximate
 * coordinates in `request.cf`, for free and without a database; the proximity policy compares them.
 * Fields Cloudflare leaves out (local development, unknown networks) are simply absent.
 *
 * @see https://developers.cloudflare.com/workers/runtime-apis/request/#incomingrequestcfproperties
 * @see ../../core/policy/proximity.ts
 */
import { parseAddress } from '../../core/policy/network.ts'
import type { NetworkFacts, NetworkLocator } from '../../ports.ts'

/** The `request.cf` members read here (strings or numbers, as Cloudflare sends them). */
interface CfProperties {
  asn?: unknown
  country?: unknown
  latitude?: unknown
  longitude?: unknown
}

const finite = (value: unknown): number | undefined => {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN
  return Number.isFinite(n) ? n : undefined
}

/**
 * Reads the facts of one request's `cf` object.
 *
 * @example
 * cfFacts({ asn: 13335, country: 'DE', latitude: '52.52', longitude: '13.40' })
 * // { asn: 13335, country: 'DE', geo: { latitude: 52.52, longitude: 13.4 } }
 */
export const cfFacts = (cf: CfProperties | undefined): NetworkFacts => {
  if (cf === undefined || cf === null || typeof cf !== 'object') return {}
  const facts: NetworkFacts = {}
  const asn = finite(cf.asn)
  if (asn !== undefined && Number.isInteger(asn) && asn > 0) facts.asn = asn
  if (typeof cf.country === 'string' && /^[A-Z]{2}$/.test(cf.country)) facts.country = cf.country
  const latitude = finite(cf.latitude)
  const longitude = finite(cf.longitude)
  if (latitude !== undefined && longitude !== undefined && Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180) {
    facts.geo = { latitude, longitude }
  }
  return facts
}

/**
 * The facts of `request.cf` when they describe `address`: `request.cf` tells of the peer Cloudflare
 * saw (CF-Connecting-IP). Behind a proxy of the deployment's own (`QRELAY_TRUSTED_PROXY_HEADER`), the
 * client's address comes from the proxy's header while `request.cf` still tells of the proxy: every
 * client would be placed at the proxy's door, on its ASN (finding 77). Then nothing is known.
 *
 * @example
 * factsOfPeer('203.0.113.9', request) // {} when CF-Connecting-IP is a proxy's address
 */
export const factsOfPeer = (address: string, request: Request): NetworkFacts => {
  const peer = parseAddress(request.headers.get('cf-connecting-ip') ?? '')
  const client = parseAddress(address)
  if (peer === null || client === null || peer.toString() !== client.toString()) return {}
  return cfFacts((request as Request & { cf?: CfProperties }).cf)
}

/**
 * The locator of a Worker: `request.cf` of the request being served, when the address located is the
 * one Cloudflare saw ({@link factsOfPeer}).
 *
 * @example
 * const services = compose(config, { ...ports, locator: cloudflareLocator })
 */
export const cloudflareLocator: NetworkLocator = {
  locate: (ip, request) => factsOfPeer(ip, request),
}
