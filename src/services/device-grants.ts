/**
 * Device authorization grants in the ephemeral key-value store: one record per grant (JSON, TTL =
 * the grant's lifetime) and two index entries, by device-code hash and by user-code hash, that name
 * the grant's id. Codes themselves are never stored.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.1
 * @see ../core/oauth/device-grant.ts (the record and its transitions)
 */
import { type ChangeWaiters, changeWaiters } from './change-waiters.ts'
import { hashSecret } from '../core/crypto/secrets.ts'
import { RelayError } from '../core/errors.ts'
import { createGrant, type DeviceGrant, type IssuedGrant } from '../core/oauth/device-grant.ts'
import { hashUserCode } from '../core/oauth/user-code.ts'
import type { NetworkSighting } from '../core/policy/proximity.ts'
import type { Clock, KvStore, Random } from '../ports.ts'

/** Scope of a session minted through the device flow (limited further by quarantine). */
export const DEVICE_FLOW_SCOPE = 'device'

/** How long an expired grant is still remembered (every decision goes by its `expiresAtMs`). */
const EXPIRED_GRANT_KEPT_MS = 10 * 60 * 1000

const grantKey = (id: string): string => `grant:${id}`
const byDeviceCodeKey = (deviceCodeHash: string): string => `grant-dc:${deviceCodeHash}`
const byUserCodeKey = (userCodeHash: string): string => `grant-uc:${userCodeHash}`

/** What the new device asks for. */
export interface GrantRequest {
  dpopJkt: string
  channelBinding: string
  requestedDeviceName?: string
  sighting: NetworkSighting
}

/** A stored grant with the exact text it is stored as (the `expected` of a compare-and-swap). */
export interface StoredGrant {
  grant: DeviceGrant
  raw: string
}

/** The grants service. */
export interface DeviceGrantsService {
  /** Creates and stores a pending grant. Errors: RelayError INVALID_PARAM. */
  create(request: GrantRequest): Promise<IssuedGrant>
  /** The live grant of a device code (clear text), or null. */
  findByDeviceCode(deviceCode: string): Promise<StoredGrant | null>
  /** The live grant of a canonical user code, or null. */
  findByUserCode(canonicalUserCode: string): Promise<StoredGrant | null>
  /** The live grant of an id, or null (to re-read after a lost compare-and-swap). */
  findById(id: string): Promise<StoredGrant | null>
  /**
   * Stores `next` only if the stored grant is still exactly `stored` (compare-and-swap on the whole
   * record, keeping its expiry); the new stored grant, or null when it changed or vanished meanwhile.
   */
  replace(stored: StoredGrant, next: DeviceGrant): Promise<StoredGrant | null>
  /**
   * Waits for a change of grant `id` stored by this process (where a request may wake another; another
   * process's changes are not seen: a waiter re-reads the grant on its own too).
   */
  changes: ChangeWaiters
}

/** Grant lifetime and polling interval. */
export interface DeviceGrantLimits {
  grantTtlSeconds: number
  pollIntervalSeconds: number
}

/**
 * Builds the service.
 *
 * @example
 * const grants = deviceGrantsService({ kv: store.kv, clock, random, limits: config.oauth })
 * const { grant, deviceCode, userCode } = await grants.create({ dpopJkt, channelBinding, sighting })
 */
export const deviceGrantsService = (deps: {
  kv: KvStore
  clock: Clock
  random: Random
  limits: DeviceGrantLimits
  /** Wake waiters at a change (only where a request may wake another: not on Workers). Default false. */
  wakeWatchers?: boolean | undefined
}): DeviceGrantsService => {
  const { kv, clock, random, limits } = deps
  const changes = changeWaiters(deps.wakeWatchers === true)

  const load = async (id: string | null): Promise<StoredGrant | null> => {
    if (id === null) return null
    const raw = await kv.get(grantKey(id))
    if (raw === null) return null
    return { grant: JSON.parse(raw) as DeviceGrant, raw }
  }

  return {
    async create(request) {
      const now = clock.now()
      const ttlMs = limits.grantTtlSeconds * 1000
      const issued = createGrant(random, now, {
        ttlMs,
        intervalSeconds: limits.pollIntervalSeconds,
        scope: DEVICE_FLOW_SCOPE,
        dpopJkt: request.dpopJkt,
        channelBinding: request.channelBinding,
        networks: [request.sighting],
        ...(request.requestedDeviceName === undefined ? {} : { requestedDeviceName: request.requestedDeviceName }),
      })
      if (!issued.ok) throw new RelayError('INVALID_PARAM', { detail: issued.detail ?? 'invalid grant request' })
      const { grant } = issued.value
      // Kept a while past its expiry so a late poll hears `expired_token` rather than "unknown".
      const keepMs = ttlMs + EXPIRED_GRANT_KEPT_MS
      // The record first: an index entry never names a grant that is not there yet.
      await kv.put(grantKey(grant.id), JSON.stringify(grant), keepMs)
      await kv.put(byDeviceCodeKey(grant.deviceCodeHash), grant.id, keepMs)
      await kv.put(byUserCodeKey(grant.userCodeHash), grant.id, keepMs)
      return issued.value
    },
    async findByDeviceCode(deviceCode) {
      return load(await kv.get(byDeviceCodeKey(hashSecret(deviceCode))))
    },
    async findByUserCode(canonicalUserCode) {
      return load(await kv.get(byUserCodeKey(hashUserCode(canonicalUserCode))))
    },
    findById: (id) => load(id),
    async replace(stored, next) {
      const raw = JSON.stringify(next)
      const outcome = await kv.replaceIfMatch(grantKey(stored.grant.id), stored.raw, raw)
      if (outcome !== 'ok') return null
      changes.changed(stored.grant.id)
      return { grant: next, raw }
    },
    changes,
  }
}
