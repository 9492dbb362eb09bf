/**
 * The Node network locator: offline MaxMind DB files (a city database with coordinates and country,
 * an ASN database), read with the `maxmind` package. Both are optional and read once at startup; a
 * lookup is a few tree steps in memory. Works with GeoLite2 / GeoIP2 City and ASN files, DB-IP's
 * city/ASN "lite" mmdb files, or any mmdb with `location.latitude/longitude`, `country.iso_code` and
 * `autonomous_system_number` fields.
 *
 * @see https://maxmind.github.io/MaxMind-DB/
 * @see ../../core/policy/proximity.ts
 */
import { readFileSync } from 'node:fs'
import { Reader } from 'maxmind'
import type { NetworkFacts, NetworkLocator } from '../../ports.ts'

/** The record fields read here, as the common databases name them. */
interface GeoRecord {
  location?: { latitude?: unknown; longitude?: unknown }
  country?: { iso_code?: unknown }
  autonomous_system_number?: unknown
}

/** Thrown at startup when a configured file cannot be read as a MaxMind DB. */
export class GeoDatabaseError extends Error {
  override readonly name = 'GeoDatabaseError'
}

/** What is used of a reader: one lookup. */
interface GeoReader {
  get(ip: string): GeoRecord | null
}

const openReader = (path: string): GeoReader => {
  try {
    return new Reader(readFileSync(path)) as unknown as GeoReader
  } catch (error) {
    throw new GeoDatabaseError(`cannot read ${path} as a MaxMind DB: ${error instanceof Error ? error.message : String(error)}`)
  }
}

const lookup = (reader: GeoReader | undefined, ip: string): GeoRecord | null => {
  if (reader === undefined) return null
  try {
    return reader.get(ip)
  } catch {
    // Safe: the reader throws only on text that is not an IP address, whose facts are unknown (the port must not throw).
    return null
  }
}

/** The facts of one address from a city record and an ASN record. */
export const factsOf = (city: GeoRecord | null, asn: GeoRecord | null): NetworkFacts => {
  const facts: NetworkFacts = {}
  const number = asn?.autonomous_system_number ?? city?.autonomous_system_number
  if (typeof number === 'number' && Number.isInteger(number) && number > 0) facts.asn = number
  const code = city?.country?.iso_code
  if (typeof code === 'string' && /^[A-Z]{2}$/.test(code)) facts.country = code
  const { latitude, longitude } = city?.location ?? {}
  if (typeof latitude === 'number' && typeof longitude === 'number' && Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180) {
    facts.geo = { latitude, longitude }
  }
  return facts
}

/**
 * Opens the configured databases; undefined when none is configured. Errors: GeoDatabaseError.
 *
 * @example
 * const locator = mmdbLocator({ cityPath: config.geo.cityMmdbPath, asnPath: config.geo.asnMmdbPath })
 */
export const mmdbLocator = (paths: { cityPath?: string | undefined; asnPath?: string | undefined }): NetworkLocator | undefined => {
  if (paths.cityPath === undefined && paths.asnPath === undefined) return undefined
  const city = paths.cityPath === undefined ? undefined : openReader(paths.cityPath)
  const asn = paths.asnPath === undefined ? undefined : openReader(paths.asnPath)
  return { locate: (ip) => factsOf(lookup(city, ip), lookup(asn, ip)) }
}
