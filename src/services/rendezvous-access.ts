/**
 * Who may touch a rendezvous channel, and at what cost: the caller, the native two-party rule (claim
 * by compare-and-swap, refuse and count a third party) and the per-channel rate limits of reads and
 * writes. The rendezvous service builds on it.
 */
import { ok, RelayError } from '../core/errors.ts'
import { STALE_TOKEN, type ChannelRecord, type RendezvousApi } from '../core/rendezvous/channel.ts'
import { claimChannel, identifyParty, type PartyVerdict } from '../core/rendezvous/party.ts'
import { hashSecret, newOpaqueId } from '../core/crypto/secrets.ts'
import type { RateRule } from '../core/policy/rate-limit.ts'
import type { Config } from '../config.ts'
import type { Clock, CreateOutcome, EphemeralStore, Random } from '../ports.ts'
import type { TokenWriteOutcome } from '../ports/channel-store.ts'
import type { RateLimiter } from './rate-limiter.ts'
import { channelLimits } from './channel-limits.ts'
import { prefixLimits } from './prefix-limits.ts'
import { sourcesOf, type AbuseGuard, type AbuseSignal } from './abuse-guard.ts'
import { ASN_SOURCE } from './abuse-sources.ts'
import type { ChannelIds } from './channel-ids.ts'

/** Who is asking: the key their per-client limits count under (see `rateKeyOf`). */
export interface Caller {
  clientKey: string
  /** The client's address as text, when known (deny lists). */
  address?: string
  /** The client's autonomous system, when a locator knows it (abuse counters per ASN). */
  asn?: number
  /** The signed-in creator's account, when authenticated (its own "not me" denies apply). */
  accountId?: string
}

/** A channel as one party sees it, with the joiner's secret when this request claimed it. */
export interface PartyView {
  record: ChannelRecord
  party: PartyVerdict | 'anyone'
  joinerSecret?: string
}

/** A party's view after the request was settled: whether it changed the channel's data. */
export interface SettledView extends PartyView {
  changed: boolean
}

/** The NOT_FOUND answer of a channel that is unknown, deleted, expired or of another API. */
export const noSuchChannel = (): RelayError => new RelayError('NOT_FOUND', { detail: 'no such channel' })

/**
 * What a Matrix write's store outcome answers: the settled view (`changed` when it was stored), or the
 * error: NOT_FOUND (`missing`), CONCURRENT_WRITE (`busy`, or `stale` with the current record as cause).
 */
export const matrixWriteView = (done: TokenWriteOutcome): SettledView => {
  if (done.outcome === 'missing') throw noSuchChannel()
  if (done.outcome === 'busy') throw new RelayError('CONCURRENT_WRITE', { detail: 'the channel is changing too fast' })
  if (done.outcome === 'stale') throw new RelayError('CONCURRENT_WRITE', { detail: STALE_TOKEN, cause: done.record })
  return { record: done.record, party: 'anyone', changed: done.outcome === 'written' }
}

/**
 * What a request does to a channel, decided on the record it read: the next record and whether the
 * data changed. Throws a RelayError to refuse; nothing is stored then.
 */
export type ChannelChange = (record: ChannelRecord) => { record: ChannelRecord; changed: boolean }

/** How many compare-and-swap rounds a claim or a write tries before giving up. */
export const CLAIM_ATTEMPTS = 8

/** What channel access needs (a subset of the rendezvous service's dependencies). */
export interface ChannelAccessDeps {
  store: EphemeralStore
  limiter: RateLimiter
  clock: Clock
  random: Random
  rates: Config['rateLimit']
  /** Abuse accounting; none: nothing is counted. */
  abuse?: AbuseGuard
}

/**
 * Builds the channel access of a rendezvous service.
 *
 * @example
 * const access = channelAccess({ store, limiter, clock, random, rates, abuse }, channelIds(keys, random))
 * const view = await access.limitedView('read', rates.readsPerChannel, 'native', id, secret, caller)
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: factory: eight short steps (known, load, count, refuse, settle, admitParty, requireParty, limitedView) sharing the store, the limiter and the abuse guard; settle, the longest, is 35 lines
export const channelAccess = (deps: ChannelAccessDeps, ids: ChannelIds) => {
  const { store, limiter, random, rates } = deps
  const limits = channelLimits(store, deps.clock)
  const prefixes = prefixLimits(limiter, rates)

  /** Creates `record` for `caller` (`limits.create`), charged also to its wider IPv6 networks (`prefix-limits.ts`). */
  const create = (caller: Caller, record: ChannelRecord, maxLive: number): Promise<CreateOutcome> =>
    prefixes.within(
      'create',
      caller.clientKey,
      rates.createPerClient,
      () => limits.create(`create:${caller.clientKey}`, rates.createPerClient, record, maxLive),
      (outcome) => outcome === 'ok',
    )

  /** Refuses an id this deployment never minted before any store or counter is touched. */
  const known = async (id: string): Promise<void> => {
    if (!(await ids.isMinted(id))) throw noSuchChannel()
  }

  /** The live record of `api`; a channel of another API is as unknown as a missing one. */
  const load = async (api: RendezvousApi, id: string): Promise<ChannelRecord> => {
    const record = await store.channels.get(id)
    if (record === null || record.api !== api) throw noSuchChannel()
    return record
  }

  /** Counts an abuse signal against every source given (its network, its ASN: there as the network's share). */
  const count = async (sources: readonly string[], signal: AbuseSignal): Promise<void> => {
    const network = sources.find((source) => !source.startsWith(ASN_SOURCE))
    for (const source of sources) await deps.abuse?.record(source, signal, undefined, source === network ? undefined : network)
  }

  /** Refuses a third party, counting it against the caller's network. */
  const refuse = async (caller: Caller): Promise<never> => {
    await count(sourcesOf(caller.clientKey, caller.asn), 'refused_join')
    const decision = await limiter.hit(`refused:${caller.clientKey}`, rates.refusedPerClient)
    if (!decision.allowed) {
      throw new RelayError('RATE_LIMITED', { detail: 'too many refused joins', retryAfterMs: decision.retryAfterMs })
    }
    throw new RelayError('CHANNEL_CLAIMED', { detail: 'the channel already has two parties' })
  }

  /**
   * Resolves the caller's party and stores, in one compare-and-swap on the record's revision, what the
   * request changes: a first other party's claim of a native channel and the `change` (a write)
   * together. `change` decides on the record it is given and throws to refuse; a refusal therefore
   * stores nothing, not even the claim (finding F5: a claim followed by a refused write). Of racing
   * claims exactly one wins; a revision that moved is decided again on the fresh record.
   */
  const settle = async (
    api: RendezvousApi,
    id: string,
    secret: string | null,
    caller: Caller,
    loaded: ChannelRecord,
    change?: ChannelChange,
  ): Promise<SettledView> => {
    const secretHash = secret === null ? null : hashSecret(secret)
    let preloaded: ChannelRecord | undefined = loaded
    let claiming = false
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const record = preloaded ?? (await load(api, id))
      preloaded = undefined
      const verdict = api === 'native' ? identifyParty(record, secretHash) : ok<PartyView['party']>('anyone')
      if (!verdict.ok) return refuse(caller)
      const outcome = change === undefined ? { record, changed: false } : change(record)
      claiming = verdict.value === 'claim'
      if (!claiming && !outcome.changed) return { record: outcome.record, party: verdict.value, changed: false }
      const joinerSecret = claiming ? newOpaqueId(random, 32) : undefined
      const claimed =
        joinerSecret === undefined ? ok(outcome.record) : claimChannel(outcome.record, hashSecret(joinerSecret), caller.clientKey)
      if (!claimed.ok) return refuse(caller)
      const stored = await store.channels.replaceIfMatch(id, record.rev, claimed.value)
      if (stored === 'missing') throw noSuchChannel()
      if (stored === 'ok') {
        // A channel someone joined is a completed one for its creator's abuse ratio.
        if (claiming) await count(sourcesOf(record.creatorNetwork, record.creatorAsn), 'channel_completed')
        const view: SettledView = { record: claimed.value, party: verdict.value, changed: outcome.changed }
        return joinerSecret === undefined ? view : { ...view, joinerSecret }
      }
    }
    // Each retry means someone else changed the record: by now another party has surely claimed it.
    if (claiming) return refuse(caller)
    throw new RelayError('CONCURRENT_WRITE', { detail: 'the channel is changing too fast' })
  }

  /**
   * Loads a native channel and checks, without claiming, that the caller may be one of its parties;
   * a third party or a wrong secret is refused and counted against the caller's own key. Only then may
   * the request spend the channel's allowance: an outsider who knows the id cannot freeze it.
   */
  const admitParty = async (id: string, secret: string | null, caller: Caller): Promise<ChannelRecord> => {
    const record = await load('native', id)
    if (!identifyParty(record, secret === null ? null : hashSecret(secret)).ok) return refuse(caller)
    return record
  }

  /** A native operation only a party may do: a secret is required and never claims. */
  const requireParty = async (key: string, rule: RateRule, id: string, secret: string | null, caller: Caller): Promise<PartyView> => {
    if (secret === null) {
      // Refused before any channel state is read: it costs the sender, never the channel.
      const decision = await limiter.hit(`refused:${caller.clientKey}`, rates.refusedPerClient)
      if (!decision.allowed)
        throw new RelayError('RATE_LIMITED', { detail: 'too many refused requests', retryAfterMs: decision.retryAfterMs })
      throw new RelayError('UNAUTHORIZED', { detail: 'this needs the party secret' })
    }
    const record = await admitParty(id, secret, caller)
    await limiter.consume(key, rule)
    return settle('native', id, secret, caller, record)
  }

  /**
   * Loads the channel as the caller's party and counts the request against `rule`. Native channels
   * count per channel, but only once the caller is known to be a party (see `admitParty`). The Matrix
   * APIs have no parties, so they count per channel and client: one client's flood spends its own
   * allowance, never the other client's. Their load is a plain read, so the count and the read are one
   * store step (one script on Redis, see `channel-limits.ts`); the rate limit still wins when both fail.
   */
  const limitedView = async (
    kind: 'read' | 'write',
    rule: RateRule,
    api: RendezvousApi,
    id: string,
    secret: string | null,
    caller: Caller,
    change?: ChannelChange,
  ): Promise<SettledView> => {
    if (api === 'native') {
      const record = await admitParty(id, secret, caller)
      await limiter.consume(`${kind}:${id}`, rule)
      return settle(api, id, secret, caller, record, change)
    }
    const loaded = await limits.get(`${kind}:${id}:${caller.clientKey}`, rule, id)
    if (loaded === null || loaded.api !== api) throw noSuchChannel()
    return change === undefined ? { record: loaded, party: 'anyone', changed: false } : settle(api, id, secret, caller, loaded, change)
  }

  return { known, load, count, requireParty, limitedView, limits, create }
}
