/**
 * The Workers network locator: Cloudflare tells each request's ASN, country and approximate
 * coordinates in `request.cf`, for free and without a database; the proximity policy compares them.
 * Fields Cloudflare leaves out (local development, unknown networks) are simply absent.
 *
 * @see https://developers.cloudflare.com/workers/runtime-apis/request/#incomingrequestcfproperties
 * @see ../../core/policy/proximity.ts
 */
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
 * The locator of a Worker: `request.cf` of the request being served (the address is Cloudflare's
 * CF-Connecting-IP, so both describe the same client).
 *
 * @example
 * const services = compose(config, { ...ports, locator: cloudflareLocator })
 */
export const cloudflareLocator: NetworkLocator = {
  locate: (_ip, request) => cfFacts((request as Request & { cf?: CfProperties }).cf),
}
