/**
 * The network sighting of the current request, for the proximity policy (see `services/sightings.ts`):
 * the request's client address and the raw request the runtime's locator may read.
 *
 * @see ../core/policy/proximity.ts
 */
import type { Context } from 'hono'
import type { NetworkSighting, SightingSource } from '../core/policy/proximity.ts'
import type { Sightings } from '../services/sightings.ts'
import type { AppEnv } from './context.ts'

/**
 * The sighting of this request.
 *
 * @example
 * const sighting = await sightingOf(c, 'poll', deps.sightings)
 */
export const sightingOf = <E extends AppEnv>(c: Context<E>, source: SightingSource, sightings: Sightings): Promise<NetworkSighting> =>
  sightings.of(source, c.get('clientAddress'), c.req.raw)
