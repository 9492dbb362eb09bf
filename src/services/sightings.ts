/**
 * Network sightings for the proximity policy: where a request came from (the client address and,
 * when the runtime has a locator — mmdb files on Node, `request.cf` on Workers — its ASN and
 * location), stamped with the time.
 *
 * @see ../core/policy/proximity.ts
 */
import type { NetworkSighting, SightingSource } from '../core/policy/proximity.ts'
import type { Clock, NetworkLocator } from '../ports.ts'

/** The service. */
export interface Sightings {
  /**
   * A sighting of `address` (`'unknown'`: time only) for `source`. `request` is what the runtime's
   * locator may read (Workers: `request.cf`). A failing locator only loses the extra facts.
   */
  of(source: SightingSource, address: string, request: Request): Promise<NetworkSighting>
  /** Whether the runtime can tell ASNs at all (else {@link asnOf} always answers undefined). */
  readonly locates: boolean
  /** The ASN of `address`; undefined when unknown or when the locator fails. */
  asnOf(address: string, request: Request): Promise<number | undefined>
}

/**
 * Builds the service.
 *
 * @example
 * const sighting = await sightings.of('poll', c.get('clientAddress'), c.req.raw)
 */
export const sightings = (deps: { clock: Clock; locator?: NetworkLocator | undefined }): Sightings => ({
  async of(source, address, request) {
    const sighting: NetworkSighting = { source, atMs: deps.clock.now() }
    if (address === 'unknown') return sighting
    sighting.ip = address
    if (deps.locator === undefined) return sighting
    try {
      const facts = await deps.locator.locate(address, request)
      if (facts.asn !== undefined) sighting.asn = facts.asn
      if (facts.geo !== undefined) sighting.geo = facts.geo
    } catch {
      // Location facts are optional: a locator failure leaves them absent (the sighting still counts).
    }
    return sighting
  },
  locates: deps.locator !== undefined,
  async asnOf(address, request) {
    if (deps.locator === undefined) return undefined
    try {
      return (await deps.locator.locate(address, request)).asn
    } catch {
      // Unknown ASN: abuse is then counted per network only, which is the locator-less behaviour.
      return undefined
    }
  },
})
