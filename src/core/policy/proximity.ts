/**
 * Proximity (BCP "establish proximity"): how close the new device's networks are to the approver's.
 * The new device is seen several times (channel creation, device authorization, token polls); each
 * sighting is compared with each of the approver's, and the strongest relation found wins (a pair that
 * knows no positions never outranks one found `far`, see {@link judgeProximity}). The new
 * device's own sightings are also compared with each other: a device that created the channel from
 * one place and asked for authorization from another is what a relayed (phished) QR code looks like.
 *
 * Relations, strongest first: same address, same prefix (v4 /24, v6 /56 by default), geo `nearby`
 * (≤ nearKm), geo `regional` (≤ farKm), same ASN, `unknown` (nothing comparable matched), geo `far`.
 * When both sightings have coordinates, the distance decides before the ASN: one national carrier
 * spans a continent, so a shared ASN says nothing about distance. A shared ASN without coordinates
 * ranks below `regional`, so under any threshold stricter than `unknown` it never allows on its own.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (establish proximity)
 */
import { inAnyRange, parseAddress, parseCidr, prefixOf, type Address, type Cidr } from './network.ts'

/** Where a sighting was made. */
export type SightingSource = 'channel_create' | 'device_authorization' | 'poll' | 'approval'

/** A latitude and longitude in degrees. */
export interface GeoPoint {
  latitude: number
  longitude: number
}

/** One request seen from a device: its address and what is known about it. */
export interface NetworkSighting {
  source: SightingSource
  atMs: number
  /** Client address as text (IPv4-mapped IPv6 counts as IPv4). */
  ip?: string
  /**
   * Only the network prefix is known (e.g. `203.0.113.0/24` from a signed channel ticket): compared
   * at prefix level, never as `same_ip`.
   */
  prefix?: string
  /** Autonomous system number, when a geo database or `request.cf` tells. */
  asn?: number
  geo?: GeoPoint
}

/** How two sightings relate, strongest first in {@link RELATION_STRENGTH}. */
export type ProximityRelation = 'same_ip' | 'same_prefix' | 'same_asn' | 'nearby' | 'regional' | 'unknown' | 'far'

/**
 * Higher is closer. `unknown` ranks above `far`: no evidence is better than evidence of distance.
 * `same_asn` ranks below the geo relations: it is weak evidence (a carrier's whole customer base).
 */
export const RELATION_STRENGTH: Readonly<Record<ProximityRelation, number>> = {
  same_ip: 6,
  same_prefix: 5,
  nearby: 4,
  regional: 3,
  same_asn: 2,
  unknown: 1,
  far: 0,
}

/** Thresholds of the proximity comparison. */
export interface ProximityConfig {
  /** IPv4 prefix length that counts as the same network. Default 24. */
  ipv4PrefixBits: number
  /** IPv6 prefix length that counts as the same network (a site usually holds a /56 or /48). Default 56. */
  ipv6PrefixBits: number
  /** Geo distance up to which two sightings are `nearby`. Default 50 km (one metro area). */
  nearKm: number
  /** Geo distance beyond which two sightings are `far`; between the two they are `regional`. Default 500 km. */
  farKm: number
  /**
   * Two of the new device's own sightings disagree when their relation is weaker than this. Default
   * `regional`. A device that stayed on its ASN (no coordinates to say otherwise) does not disagree.
   */
  consistentAtLeast: ProximityRelation
}

/** Defaults of {@link ProximityConfig}. */
export const DEFAULT_PROXIMITY: Readonly<ProximityConfig> = {
  ipv4PrefixBits: 24,
  ipv6PrefixBits: 56,
  nearKm: 50,
  farKm: 500,
  consistentAtLeast: 'regional',
}

/** Two of the new device's sightings that disagree. */
export interface Disagreement {
  first: SightingSource
  second: SightingSource
  relation: ProximityRelation
  distanceKm?: number
}

/** The verdict with its evidence. Holds no addresses: it may be logged and shown. */
export interface ProximityVerdict {
  /** Strongest relation between any new-device sighting and any approver sighting. */
  relation: ProximityRelation
  /** Smallest geo distance found between the two sides, when both had coordinates. */
  distanceKm?: number
  /** True when some of the new device's own sightings disagree (see {@link Disagreement}). */
  inconsistent: boolean
  disagreements: Disagreement[]
  /** How many sightings of each side could be compared (had an address). */
  compared: { newDevice: number; approver: number }
}

const EARTH_RADIUS_KM = 6371.0088

/**
 * Great-circle distance in km (haversine).
 *
 * @example
 * distanceKm({ latitude: 48.8566, longitude: 2.3522 }, { latitude: 51.5074, longitude: -0.1278 }) // ≈ 344
 */
export const distanceKm = (a: GeoPoint, b: GeoPoint): number => {
  const rad = Math.PI / 180
  const dLat = (b.latitude - a.latitude) * rad
  const dLon = (b.longitude - a.longitude) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** The relation of two sightings and, when both had coordinates, their distance. */
export const relate = (
  a: NetworkSighting,
  b: NetworkSighting,
  config: ProximityConfig = DEFAULT_PROXIMITY,
): { relation: ProximityRelation; distanceKm?: number } => {
  const x = a.ip === undefined ? null : parseAddress(a.ip)
  const y = b.ip === undefined ? null : parseAddress(b.ip)
  const v4 = config.ipv4PrefixBits
  const v6 = config.ipv6PrefixBits
  if (x !== null && y !== null && x.kind() === y.kind()) {
    if (x.toString() === y.toString()) return { relation: 'same_ip' }
    if (prefixOf(x, v4, v6) === prefixOf(y, v4, v6)) return { relation: 'same_prefix' }
  } else if (samePrefixOnly(a, x, b, y, v4, v6)) {
    return { relation: 'same_prefix' }
  }
  // Both positions known: the distance decides, whatever the ASNs say.
  if (a.geo !== undefined && b.geo !== undefined) {
    const km = distanceKm(a.geo, b.geo)
    const relation = km <= config.nearKm ? 'nearby' : km <= config.farKm ? 'regional' : 'far'
    return { relation, distanceKm: km }
  }
  if (a.asn !== undefined && a.asn === b.asn) return { relation: 'same_asn' }
  return { relation: 'unknown' }
}

const comparable = (s: NetworkSighting): boolean =>
  (s.ip !== undefined && parseAddress(s.ip) !== null) ||
  (s.prefix !== undefined && parseCidr(s.prefix) !== null) ||
  s.asn !== undefined ||
  s.geo !== undefined

/** A sighting's network as a range: its prefix, or its address's prefix. */
const rangeOf = (s: NetworkSighting, address: Address | null, v4: number, v6: number): Cidr | null => {
  if (address !== null) return parseCidr(prefixOf(address, v4, v6))
  return s.prefix === undefined ? null : parseCidr(s.prefix)
}

/** When at least one side knows only its prefix: true if the address (or prefix) lies in the other's. */
const samePrefixOnly = (a: NetworkSighting, x: Address | null, b: NetworkSighting, y: Address | null, v4: number, v6: number): boolean => {
  const ra = rangeOf(a, x, v4, v6)
  const rb = rangeOf(b, y, v4, v6)
  if (ra === null || rb === null || ra[0].kind() !== rb[0].kind()) return false
  // The shorter prefix contains the longer one's network address.
  const [outer, inner] = ra[1] <= rb[1] ? [ra, rb] : [rb, ra]
  return inAnyRange(inner[0], [outer])
}

/** True for a relation that says where the two sightings are (not `unknown`, not an ASN alone). */
const locates = (relation: ProximityRelation): boolean => relation !== 'unknown' && relation !== 'same_asn'

/**
 * Compares the new device's sightings with the approver's. With nothing comparable on either side the
 * relation is `unknown`. The strongest relation wins, but a pair that knows nothing of where its two
 * sightings are (`unknown`, or an ASN alone) never outranks a pair found `far`: otherwise one sighting
 * without a position (a ticket's bare prefix, an address the geo database does not know) would hide
 * the distance of all the others (finding 75).
 *
 * @example
 * const verdict = judgeProximity(grant.networks, [approvalSighting], DEFAULT_PROXIMITY)
 * if (verdict.relation === 'far') deny('far_away')
 */
export const judgeProximity = (
  newDevice: readonly NetworkSighting[],
  approver: readonly NetworkSighting[],
  config: ProximityConfig = DEFAULT_PROXIMITY,
): ProximityVerdict => {
  const mine = newDevice.filter(comparable)
  const theirs = approver.filter(comparable)
  let relation: ProximityRelation = 'unknown'
  let best = -1
  let nearest: number | undefined
  let sawFar = false
  for (const a of mine) {
    for (const b of theirs) {
      const found = relate(a, b, config)
      if (found.distanceKm !== undefined) nearest = Math.min(nearest ?? Infinity, found.distanceKm)
      if (found.relation === 'far') sawFar = true
      if (RELATION_STRENGTH[found.relation] > best) {
        best = RELATION_STRENGTH[found.relation]
        relation = found.relation
      }
    }
  }
  if (sawFar && !locates(relation)) relation = 'far'
  const disagreements: Disagreement[] = []
  const floor = RELATION_STRENGTH[config.consistentAtLeast]
  for (let i = 0; i < mine.length; i++) {
    for (let j = i + 1; j < mine.length; j++) {
      const first = mine[i] as NetworkSighting
      const second = mine[j] as NetworkSighting
      const found = relate(first, second, config)
      if (found.relation !== 'same_asn' && RELATION_STRENGTH[found.relation] < floor) {
        disagreements.push({ first: first.source, second: second.source, ...found })
      }
    }
  }
  const verdict: ProximityVerdict = {
    relation,
    inconsistent: disagreements.length > 0,
    disagreements,
    compared: { newDevice: mine.length, approver: theirs.length },
  }
  if (nearest !== undefined) verdict.distanceKm = nearest
  return verdict
}
