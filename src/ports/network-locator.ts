import type { GeoPoint } from '../core/policy/proximity.ts'

/** What is known about a client address beyond the address itself. Everything is optional. */
export interface NetworkFacts {
  /** Autonomous system number. */
  asn?: number
  /** Approximate location (city level at best). */
  geo?: GeoPoint
  /** ISO 3166-1 alpha-2 country code. */
  country?: string
}

/**
 * Looks up an address's ASN and location for the proximity policy: on Node optional offline mmdb
 * files, on Workers `request.cf`. Must not throw: unknown facts are simply absent.
 */
export interface NetworkLocator {
  locate(ip: string, request: Request): NetworkFacts | Promise<NetworkFacts>
}
