/**
 * A network sighting of the current request for the proximity policy: the client address and, when
 * the runtime has a locator (mmdb files on Node, `request.cf` on Workers), its ASN and location.
 *
 * @see ../core/policy/proximity.ts
 */
import type { Context } from 'hono'
import type { NetworkSighting, SightingSource } from '../core/policy/proximity.ts'
import type { Clock, NetworkLocator } from '../ports.ts'
import type { AppEnv } from './context.ts'

/**
 * Builds the sighting. A failing locator only loses the extra facts.
 *
 * @example
 * const sighting = await sightingOf(c, 'poll', { clock, locator })
 */
export const sightingOf = async <E extends AppEnv>(
  c: Context<E>,
  source: SightingSource,
  deps: { clock: Clock; locator?: NetworkLocator | undefined },
): Promise<NetworkSighting> => {
  const ip = c.get('clientAddress')
  const sighting: NetworkSighting = { source, atMs: deps.clock.now() }
  if (ip === 'unknown') return sighting
  sighting.ip = ip
  if (deps.locator === undefined) return sighting
  try {
    const facts = await deps.locator.locate(ip, c.req.raw)
    if (facts.asn !== undefined) sighting.asn = facts.asn
    if (facts.geo !== undefined) sighting.geo = facts.geo
  } catch {
    // Unknown facts are simply absent.
  }
  return sighting
}
