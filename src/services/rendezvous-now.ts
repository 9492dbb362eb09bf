/**
 * The Matrix channel requests of the rendezvous service (create, read, write, delete on MSC4108 and
 * MSC4388) answered at once where the store lives in this process (memory, `InProcessStore`): the
 * same checks in the same order, the same store steps, outcomes, errors and abuse signals as
 * `rendezvous.ts`, without a promise per step. What cannot be answered at once (an abuse guard to ask
 * or to tell, channel-id keys still loading) is handed to the asynchronous path, or awaited, and the
 * answer is then a promise.
 */
import { RelayError } from '../core/errors.ts'
import { createChannel, matrixTokenWrite, type RendezvousApi, type TextSha256 } from '../core/rendezvous/channel.ts'
import type { Config } from '../config.ts'
import { inAnyRange, parseAddress, type Cidr } from '../core/policy/network.ts'
import { hasWiderNetworks } from '../core/policy/ipv6-prefixes.ts'
import type { Clock, EphemeralStore } from '../ports.ts'
import type { AbuseGuard, AbuseSignal } from './abuse-guard.ts'
import { sourcesOf } from './abuse-sources.ts'
import { channelLimitsNow } from './channel-limits.ts'
import type { ChannelIds } from './channel-ids.ts'
import { matrixWriteView, noSuchChannel, type Caller, type PartyView, type SettledView } from './rendezvous-access.ts'

/** The Matrix APIs (no parties): those answered here. */
export type MatrixApi = Exclude<RendezvousApi, 'native'>

/** A value now, or a promise of it when a step had to wait. */
export type Now<T> = T | Promise<T>

/** `f` of `value`, at once when the value is there, else when it comes. */
export const thenNow = <T, U>(value: Now<T>, f: (value: T) => U): Now<U> => (value instanceof Promise ? value.then(f) : f(value))

/** What the rendezvous service lends the requests answered at once (its own dependencies and helpers). */
export interface RendezvousNowDeps {
  store: EphemeralStore
  clock: Clock
  ids: ChannelIds
  limits: Config['rendezvous']
  rates: Config['rateLimit']
  textSha256?: TextSha256
  /** An abuse guard counts signals and blocks creators (then a create takes the asynchronous path). */
  abuse?: AbuseGuard
  deniedNetworks?: readonly Cidr[]
  /** Throws PAYLOAD_TOO_LARGE. */
  checkSize(data: string): void
  ttlMsOf(api: RendezvousApi): number
  /** Counts an abuse signal against every source given (nothing without a guard). */
  count(sources: readonly string[], signal: AbuseSignal): Promise<void>
  /** The service's own asynchronous methods, for what cannot be answered at once. */
  later: {
    create(api: MatrixApi, data: string, caller: Caller): Promise<{ record: PartyView['record'] }>
    read(api: MatrixApi, id: string, caller: Caller): Promise<PartyView>
    write(api: MatrixApi, id: string, data: string, expectedToken: string, caller: Caller): Promise<SettledView>
    remove(api: MatrixApi, id: string, caller: Caller): Promise<void>
  }
}

/** The Matrix channel requests answered at once (see the module comment). */
export type RendezvousNow = NonNullable<ReturnType<typeof rendezvousNow>>

/** Refuses a creator on a denied network (NETWORK_DENIED); the abuse blocks are the guard's. */
export const refuseDeniedNetwork = (denied: readonly Cidr[] | undefined, caller: Caller): void => {
  // The address is only looked at against a deny list (parsing it is pure, and costs a few per cent of a create).
  if (denied !== undefined && denied.length > 0 && caller.address !== undefined) {
    const address = parseAddress(caller.address)
    if (address !== null && inAnyRange(address, denied)) {
      throw new RelayError('NETWORK_DENIED', { detail: 'channels cannot be created from this network' })
    }
  }
}

/**
 * Builds the requests answered at once, or undefined when the store is not in this process.
 *
 * @example
 * const now = rendezvousNow({ ...deps, ids, checkSize, ttlMsOf, count, later: service })
 * const view = now?.read('msc4388', id, caller) // a PartyView, or a promise of one
 */
export const rendezvousNow = (deps: RendezvousNowDeps) => {
  const { clock, ids, limits, rates, checkSize, later } = deps
  const store = deps.store.inProcess
  if (store === undefined) return undefined
  const hash = deps.textSha256
  const abuseGuarded = deps.abuse !== undefined
  const guarded = channelLimitsNow(store, clock)

  return {
    /** `rendezvous.create` of a Matrix API. Errors: PAYLOAD_TOO_LARGE, NETWORK_DENIED, RATE_LIMITED, CAPACITY_EXCEEDED. */
    create(api: MatrixApi, data: string, caller: Caller): Now<{ record: PartyView['record'] }> {
      // An abuse guard is asked before anything is minted: that is a wait. So are the budgets of an
      // IPv6 client's wider networks (reserved, and given back when nothing is created).
      if (abuseGuarded || hasWiderNetworks(caller.clientKey)) return later.create(api, data, caller)
      checkSize(data)
      refuseDeniedNetwork(deps.deniedNetworks, caller)
      const id = ids.mintNow()
      if (id === undefined) return later.create(api, data, caller)
      const record = createChannel({
        id,
        api,
        data,
        now: clock.now(),
        ttlMs: deps.ttlMsOf(api),
        creatorNetwork: caller.clientKey,
        ...(caller.asn === undefined ? {} : { creatorAsn: caller.asn }),
        ...(hash === undefined ? {} : { hash }),
      })
      const outcome = guarded.create(`create:${caller.clientKey}`, rates.createPerClient, record, limits.maxLiveChannels)
      if (outcome === 'capacity') {
        throw new RelayError('CAPACITY_EXCEEDED', { detail: 'too many live channels', retryAfterMs: 5000 })
      }
      if (outcome === 'exists') throw new RelayError('INTERNAL', { detail: 'channel id collision' })
      return { record }
    },

    /** `rendezvous.read` of a Matrix API. Errors: NOT_FOUND, RATE_LIMITED. */
    read(api: MatrixApi, id: string, caller: Caller): Now<PartyView> {
      const minted = ids.isMintedNow(id)
      if (minted === undefined) return later.read(api, id, caller)
      if (!minted) throw noSuchChannel()
      const loaded = guarded.get(`read:${id}:${caller.clientKey}`, rates.readsPerChannel, id)
      if (loaded === null || loaded.api !== api) throw noSuchChannel()
      const view: SettledView = { record: loaded, party: 'anyone', changed: false }
      return view
    },

    /** `rendezvous.write` of a Matrix API. Errors: NOT_FOUND, PAYLOAD_TOO_LARGE, CONCURRENT_WRITE, RATE_LIMITED. */
    write(api: MatrixApi, id: string, data: string, expectedToken: string, caller: Caller): Now<SettledView> {
      checkSize(data)
      const minted = ids.isMintedNow(id)
      if (minted === undefined) return later.write(api, id, data, expectedToken, caller)
      if (!minted) throw noSuchChannel()
      const write = matrixTokenWrite(api, id, data, expectedToken, clock.now(), hash)
      const view = matrixWriteView(guarded.write(`write:${id}:${caller.clientKey}`, rates.writesPerChannel, id, write))
      // Matrix APIs have no claim: the first answer to the creator's payload completes the channel.
      if (!view.changed || view.record.version !== 1 || !abuseGuarded) return view
      return deps.count(sourcesOf(view.record.creatorNetwork, view.record.creatorAsn), 'channel_completed').then(() => view)
    },

    /** `rendezvous.remove` of a Matrix API. Errors: NOT_FOUND, RATE_LIMITED. */
    remove(api: MatrixApi, id: string, caller: Caller): Now<void> {
      const minted = ids.isMintedNow(id)
      if (minted === undefined) return later.remove(api, id, caller)
      if (!minted) throw noSuchChannel()
      // The count and a take of a live channel of this API are one store step; a refused count takes nothing.
      if (guarded.take(`write:${id}:${caller.clientKey}`, rates.writesPerChannel, id, api) === null) throw noSuchChannel()
    },
  }
}
