/**
 * Rendezvous use cases, transport-agnostic: create, read, write, delete and abort channels of the
 * three APIs, with limits, expiry and the native two-party rule. HTTP and WebSocket handlers call
 * these and never touch a store.
 */
import { RelayError } from '../core/errors.ts'
import {
  createChannel,
  payloadBytes,
  writeChannel,
  matrixTokenWrite,
  type ChannelRecord,
  type TextSha256,
  type RendezvousApi,
} from '../core/rendezvous/channel.ts'
import type { AbortReason, ChannelEvent, PartyRole } from '../core/relay/channel-event.ts'
import { hashSecret, newOpaqueId } from '../core/crypto/secrets.ts'
import type { ChannelIdKeys, HmacSha256 } from '../core/rendezvous/channel-id.ts'
import { channelIds } from './channel-ids.ts'
import type { Config } from '../config.ts'
import type { ChannelEvents, Clock, EphemeralStore, Random } from '../ports.ts'
import type { RateLimiter } from './rate-limiter.ts'
import type { Cidr } from '../core/policy/network.ts'
import { sourcesOf, type AbuseGuard } from './abuse-guard.ts'
import { mismatchStrikes } from './mismatch-strikes.ts'
import { partyWrites } from './party-writes.ts'
import {
  channelAccess,
  matrixWriteView,
  noSuchChannel,
  type Caller,
  type ChannelChange,
  type PartyView,
  type SettledView,
} from './rendezvous-access.ts'
import { refuseDeniedNetwork, type RendezvousNowDeps } from './rendezvous-now.ts'

/** The caller and its view of a channel (defined beside the two-party rule that decides them). */
export type { Caller, PartyView }

/** What the rendezvous service needs. */
export interface RendezvousDeps {
  store: EphemeralStore
  limiter: RateLimiter
  clock: Clock
  random: Random
  limits: Config['rendezvous']
  rates: Config['rateLimit']
  /** Where native writes, deletes and aborts are announced (WebSocket push); none: nobody hears them. */
  events?: ChannelEvents
  /** Abuse accounting and the automatic deny; none: nothing is counted. */
  abuse?: AbuseGuard
  /** Networks refused for channel creation (`QRELAY_POLICY_DENIED_NETWORKS`). */
  deniedNetworks?: readonly Cidr[]
  /**
   * The keys that tag channel ids (see `core/rendezvous/channel-id.ts`), or how to load them once
   * (shared across processes: Redis, the Workers key object). None: a random key of this instance,
   * right for a single-process memory store only.
   */
  channelIdKeys?: ChannelIdKeys | (() => Promise<ChannelIdKeys>)
  /** The HMAC that tags channel ids; none: the portable one (Node passes node:crypto's, same bytes). */
  hmacSha256?: HmacSha256
  /** The SHA-256 of write tokens; none: the portable one (a runtime may pass a native one, same bytes). */
  textSha256?: TextSha256
}

/** A created channel, with the creator's secret on native channels (shown once, stored hashed). */
export interface CreatedChannel {
  record: ChannelRecord
  creatorSecret?: string
}

/** The result of a write: the stored record, whether it changed, and a joiner secret on a claim. */
export type WriteResult = SettledView

/** Why a party aborts a native channel (defined in core beside the channel events that carry it). */
export type { AbortReason }

/** Refuses a creator on a denied network, or under an abuse block of its network or ASN (NETWORK_DENIED). */
const refuseDeniedCreator = async (deps: RendezvousDeps, caller: Caller): Promise<void> => {
  refuseDeniedNetwork(deps.deniedNetworks, caller)
  if (deps.abuse === undefined) return
  const abuse = deps.abuse
  const blocks = await Promise.all(sourcesOf(caller.clientKey, caller.asn).map((source) => abuse.deniedForMs(source, caller.accountId)))
  const blockedMs = Math.max(0, ...blocks)
  if (blockedMs > 0) {
    throw new RelayError('NETWORK_DENIED', {
      detail: 'this network is temporarily blocked after suspicious activity',
      retryAfterMs: blockedMs,
    })
  }
}

const ignore = (): void => {}

/** The rendezvous service. */
export type RendezvousService = ReturnType<typeof rendezvousService>

/**
 * Builds the rendezvous service.
 *
 * @example
 * const rendezvous = rendezvousService({ store, limiter, clock, random, limits, rates })
 * const { record } = await rendezvous.create('msc4388', '', { clientKey })
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: factory: seven methods sharing the store, the limiter, the id keys and the channel access; the longest (create) is 25 lines
export const rendezvousService = (deps: RendezvousDeps) => {
  const { store, limiter, clock, random, limits, rates, events } = deps
  const hash = deps.textSha256

  const inProcess = store.inProcess
  const nativeOnly = (record: ChannelRecord | null): ChannelRecord | null => (record === null || record.api !== 'native' ? null : record)

  const roleOf = (party: PartyView['party']): PartyRole => (party === 'creator' ? 'creator' : 'joiner')

  const ids = channelIds(deps.channelIdKeys, random, deps.hmacSha256)

  /**
   * Tells the channel's listeners on every process, without waiting: the change is already stored, so
   * the request need not pay a pub/sub round trip, and a failed publish must not fail it (listeners
   * resync when their connection comes back).
   */
  const publishNow = events?.publishNow
  const announce = (id: string, event: ChannelEvent): void => {
    // Every listener in this process: told at once, no promise per write (the memory events).
    if (publishNow !== undefined) return void publishNow(id, event)
    // Safe to drop (see above): the change is stored and listeners resync; the service has no logger.
    events?.publish(id, event).catch(ignore)
  }

  const ttlMsOf = (api: RendezvousApi): number =>
    1000 * (api === 'msc4108' ? limits.msc4108TtlSeconds : api === 'msc4388' ? limits.msc4388TtlSeconds : limits.nativeTtlSeconds)

  const checkSize = (data: string): void => {
    // A UTF-16 code unit is 1 to 3 bytes of UTF-8: only a long enough string needs counting.
    if (data.length * 3 > limits.maxPayloadBytes && payloadBytes(data) > limits.maxPayloadBytes) {
      throw new RelayError('PAYLOAD_TOO_LARGE', { detail: `payload exceeds ${limits.maxPayloadBytes} bytes` })
    }
  }

  const { known, load, count, requireParty, limitedView, limits: guarded, create } = channelAccess(deps, ids)

  /**
   * A write of a Matrix API (no parties): the per-channel-and-client count and the compare-and-swap on
   * the write token are one store step (one script on Redis: the next token is known before the read).
   */
  const matrixWrite = async (
    api: Exclude<RendezvousApi, 'native'>,
    id: string,
    data: string,
    expectedToken: string,
    caller: Caller,
  ): Promise<WriteResult> => {
    const write = matrixTokenWrite(api, id, data, expectedToken, clock.now(), hash)
    const view = matrixWriteView(await guarded.write(`write:${id}:${caller.clientKey}`, rates.writesPerChannel, id, write))
    // Matrix APIs have no claim: the first answer to the creator's payload completes the channel.
    if (view.changed && view.record.version === 1)
      await count(sourcesOf(view.record.creatorNetwork, view.record.creatorAsn), 'channel_completed')
    return view
  }

  const partyWrite = partyWrites({ store, limiter, clock, rule: rates.writesPerChannel, hash, checkSize, load, announce })

  const strikeMismatch = mismatchStrikes({ counters: store.counters, ...(deps.abuse === undefined ? {} : { abuse: deps.abuse }) })

  const service = {
    /** Creates a channel holding `data`. Errors: PAYLOAD_TOO_LARGE, RATE_LIMITED, CAPACITY_EXCEEDED. */
    async create(api: RendezvousApi, data: string, caller: Caller): Promise<CreatedChannel> {
      checkSize(data)
      await refuseDeniedCreator(deps, caller)
      const creatorSecret = api === 'native' ? newOpaqueId(random, 32) : undefined
      const record = createChannel({
        id: await ids.mint(),
        api,
        data,
        now: clock.now(),
        ttlMs: ttlMsOf(api),
        ...(creatorSecret === undefined ? {} : { creatorSecretHash: hashSecret(creatorSecret) }),
        creatorNetwork: caller.clientKey,
        ...(caller.asn === undefined ? {} : { creatorAsn: caller.asn }),
        ...(hash === undefined ? {} : { hash }),
      })
      // The per-client count and the create are one store step (one script on one Redis); a refused
      // count creates nothing and counts no abuse signal. IPv6: its /56 and /48 are charged first.
      const outcome = await create(caller, record, limits.maxLiveChannels)
      await count(sourcesOf(caller.clientKey, caller.asn), 'channel_created')
      if (outcome === 'capacity') {
        throw new RelayError('CAPACITY_EXCEEDED', { detail: 'too many live channels', retryAfterMs: 5000 })
      }
      if (outcome === 'exists') throw new RelayError('INTERNAL', { detail: 'channel id collision' })
      return creatorSecret === undefined ? { record } : { record, creatorSecret }
    },

    /** Reads a channel. Errors: NOT_FOUND, RATE_LIMITED, CHANNEL_CLAIMED (native third party). */
    async read(api: RendezvousApi, id: string, caller: Caller, secret: string | null = null): Promise<PartyView> {
      await known(id)
      return limitedView('read', rates.readsPerChannel, api, id, secret, caller)
    },

    /**
     * Compare-and-swap write. Errors: NOT_FOUND, PAYLOAD_TOO_LARGE, CONCURRENT_WRITE (stale token;
     * the current record is in `detail`-free form on the error's `cause`), RATE_LIMITED, CHANNEL_CLAIMED.
     */
    async write(
      api: RendezvousApi,
      id: string,
      data: string,
      expectedToken: string,
      caller: Caller,
      secret: string | null = null,
    ): Promise<WriteResult> {
      checkSize(data)
      await known(id)
      if (api !== 'native') return matrixWrite(api, id, data, expectedToken, caller)
      // Decided on the record the compare-and-swap will replace: a stale token refuses before anything,
      // a native claim included, is stored (finding F5).
      const change: ChannelChange = (record) => {
        const written = writeChannel(record, { data, expectedToken, now: clock.now(), idempotentRetry: true, hash })
        if (!written.ok) throw new RelayError('CONCURRENT_WRITE', { detail: written.detail ?? 'stale token', cause: record })
        return written.value
      }
      const view = await limitedView('write', rates.writesPerChannel, api, id, secret, caller, change)
      if (!view.changed) return view
      announce(id, { type: 'written', token: view.record.token, by: roleOf(view.party) })
      return view
    },

    /** A native write by a party the transport admitted (a WebSocket after its hello): see `./party-writes.ts`. */
    writeAsParty: partyWrite.writeAsParty,
    /** `writeAsParty` as one synchronous step, where the store is in this process (memory); else undefined. */
    writeAsPartyNow: partyWrite.writeAsPartyNow,
    /** The write limit `writeAsPartyNow` counts, prepared once per socket (`./party-writes.ts`); else undefined. */
    writeLimitNow: partyWrite.writeLimitNow,
    /** The live native channel as the store holds it, where the store is in this process (`./party-writes.ts`); else undefined. */
    peekNow: partyWrite.peekNow,

    /**
     * Deletes a channel. On native channels only a party (creator or joiner secret) may.
     * Errors: NOT_FOUND, RATE_LIMITED, UNAUTHORIZED, CHANNEL_CLAIMED.
     */
    async remove(api: RendezvousApi, id: string, caller: Caller, secret: string | null = null): Promise<void> {
      await known(id)
      if (api !== 'native') {
        // The count and a take of a live channel of this API are one store step; a refused count takes nothing.
        const taken = await guarded.take(`write:${id}:${caller.clientKey}`, rates.writesPerChannel, id, api)
        if (taken === null) throw noSuchChannel()
        return
      }
      const { party } = await requireParty(`write:${id}`, rates.writesPerChannel, id, secret, caller)
      if (!(await store.channels.delete(id))) throw noSuchChannel()
      announce(id, { type: 'deleted', by: roleOf(party) })
    },

    /**
     * A party aborts a native channel (e.g. the check codes differ): the channel is deleted at once and,
     * for a check-code mismatch, strikes are counted as `strikeMismatch` decides.
     * Errors: NOT_FOUND, UNAUTHORIZED (no party secret), CHANNEL_CLAIMED.
     */
    async abort(id: string, secret: string | null, reason: AbortReason, caller: Caller): Promise<void> {
      await known(id)
      const { party } = await requireParty(`write:${id}`, rates.writesPerChannel, id, secret, caller)
      const record = await store.channels.takeOnce(id)
      if (record === null) throw noSuchChannel()
      announce(id, { type: 'aborted', by: roleOf(party), reason })
      if (reason === 'check_code_mismatch' && (party === 'creator' || party === 'joiner')) await strikeMismatch(record, party, caller)
    },

    /**
     * The live native record, for a transport that has already authenticated its party (a WebSocket
     * re-reading after an event): no rate limit, no party check, and no id check (the id passed one
     * when the party was admitted). Null when gone or not native.
     */
    async current(id: string): Promise<ChannelRecord | null> {
      return nativeOnly(await store.channels.get(id))
    },

    /** `current`, answered at once where the store is in this process (memory); else undefined. */
    currentNow: inProcess === undefined ? undefined : (id: string): ChannelRecord | null => nativeOnly(inProcess.getChannel(id)),

    /** Milliseconds until `record` expires. */
    remainingMs(record: ChannelRecord): number {
      return Math.max(0, record.expiresAtMs - clock.now())
    },
  }
  return {
    ...service,
    /**
     * What `rendezvousNow` (`./rendezvous-now.ts`) builds this service's Matrix requests answered at once
     * from, where the store is in this process (Node's fast path on memory); built there, so a runtime
     * without such a store (Workers) does not bundle it.
     */
    inProcessParts: { ...deps, ids, checkSize, ttlMsOf, count, later: service } satisfies RendezvousNowDeps,
  }
}
