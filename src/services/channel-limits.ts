/**
 * Rate-limited channel intents: a rate-limit hit and the channel operation it guards, as one store
 * step where the adapter has one (`ChannelStore.limitAndGet` and its siblings: one Lua script on Redis),
 * else composed from the ports' plain methods with the same outcomes. Either way the hit is counted
 * first and always, and a refused hit changes nothing else.
 */
import { RelayError } from '../core/errors.ts'
import { decideRate, windowBudget, type RateRule } from '../core/policy/rate-limit.ts'
import { decideTokenWrite, type ChannelRecord, type RendezvousApi } from '../core/rendezvous/channel.ts'
import type { ChannelLimit, Clock, CreateOutcome, EphemeralStore, InProcessStore, Limited, WindowCounts } from '../ports.ts'
import type { TokenWrite, TokenWriteOutcome } from '../ports/channel-store.ts'
import { rateKey } from './rate-limiter.ts'

/** Whether a counted hit is admitted by `limit`'s budget (the test of `ChannelLimit`). */
export const admits = (counts: WindowCounts, limit: ChannelLimit): boolean =>
  counts.previous * limit.budget.previousWeight + counts.current * limit.budget.currentWeight <= limit.budget.capacity

/** The three fused intents of a store: its own, or composed from its channel and counter ports. */
export type FusedChannelOps = Required<
  Pick<EphemeralStore['channels'], 'limitAndGet' | 'limitAndTake' | 'limitAndCreate' | 'limitAndWrite'>
>

/** How many compare-and-swap rounds a composed write tries before answering `busy`. */
const WRITE_ATTEMPTS = 8

/**
 * `limitAndWrite` composed: the hit and the first read as `limitAndGet`, then compare-and-swap on the
 * revision, re-reading on a race (`busy` after {@link WRITE_ATTEMPTS} lost rounds). Also the path of an
 * adapter's own intent for a write its script cannot carry.
 *
 * @example
 * const limitAndWrite = writeBySwap(limitAndGet, store.channels)
 */
export const writeBySwap =
  (
    limitAndGet: (id: string, limit: ChannelLimit) => Promise<Limited<ChannelRecord | null>>,
    channels: Pick<EphemeralStore['channels'], 'get' | 'replaceIfMatch'>,
  ) =>
  async (id: string, write: TokenWrite, limit: ChannelLimit): Promise<Limited<TokenWriteOutcome>> => {
    const read = await limitAndGet(id, limit)
    if (!read.admitted) return read
    let record = read.value
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const decided = decideTokenWrite(record, write)
      if ('outcome' in decided) return { admitted: true, counts: read.counts, value: decided }
      const stored = await channels.replaceIfMatch(id, record!.rev, decided)
      if (stored === 'ok') return { admitted: true, counts: read.counts, value: { outcome: 'written', record: decided } }
      if (stored === 'missing') return { admitted: true, counts: read.counts, value: { outcome: 'missing' } }
      record = await channels.get(id)
    }
    return { admitted: true, counts: read.counts, value: { outcome: 'busy' } }
  }

/**
 * The store's fused intents, each the adapter's own when it has one. The composed ones count the hit
 * with `CounterStore.hitWindow` under `limit.key`; a read goes out beside it (a read changes nothing),
 * a take or a create only once the hit is admitted.
 *
 * @example
 * const { limitAndGet } = fusedChannelOps(store)
 */
export const fusedChannelOps = (store: EphemeralStore): FusedChannelOps => {
  const { channels, counters } = store
  const hit = (limit: ChannelLimit): Promise<WindowCounts> => counters.hitWindow(limit.key, limit.windowIndex, limit.ttlMs)
  // The hit and the read go out at once; the hit decides first (a refusal wins over a failed read).
  // Awaited one after the other rather than through Promise.allSettled (two settlement objects and a
  // combined promise per request): the same calls in the same order, the same outcome.
  const limitAndGet = async (id: string, limit: ChannelLimit): Promise<Limited<ChannelRecord | null>> => {
    const counting = hit(limit)
    const loading = channels.get(id)
    // Safe: marks a failed read as handled while the hit is awaited (a refused or failed hit wins over
    // it); when the hit is admitted, the read itself is awaited below and its failure is thrown.
    loading.catch(() => {})
    const counts = await counting
    if (!admits(counts, limit)) return { admitted: false, counts }
    return { admitted: true, counts, value: await loading }
  }
  const limitAndTake = async (id: string, api: RendezvousApi, limit: ChannelLimit): Promise<Limited<ChannelRecord | null>> => {
    const read = await limitAndGet(id, limit)
    if (!read.admitted) return read
    const taken = read.value === null || read.value.api !== api ? null : await channels.takeOnce(id)
    return { admitted: true, counts: read.counts, value: taken }
  }
  const limitAndCreate = async (record: ChannelRecord, maxLive: number, limit: ChannelLimit): Promise<Limited<CreateOutcome>> => {
    const counts = await hit(limit)
    if (!admits(counts, limit)) return { admitted: false, counts }
    return { admitted: true, counts, value: await channels.create(record, maxLive) }
  }
  const limitAndWrite = writeBySwap(limitAndGet, channels)
  return {
    limitAndWrite: channels.limitAndWrite?.bind(channels) ?? limitAndWrite,
    limitAndGet: channels.limitAndGet?.bind(channels) ?? limitAndGet,
    limitAndTake: channels.limitAndTake?.bind(channels) ?? limitAndTake,
    limitAndCreate: channels.limitAndCreate?.bind(channels) ?? limitAndCreate,
  }
}

/** The {@link ChannelLimit} of one hit of `key` under `rule` at `now`. */
const limitOf = (key: string, rule: RateRule, now: number): ChannelLimit => {
  const { index, budget } = windowBudget(rule, now)
  return { key: rateKey(key), windowIndex: index, ttlMs: 2 * rule.windowMs, budget }
}

/** The value of an admitted hit, else RATE_LIMITED with the retry hint `RateLimiter.consume` gives. */
const settled = <T>(outcome: Limited<T>, rule: RateRule, now: number): T => {
  if (outcome.admitted) return outcome.value
  const { retryAfterMs } = decideRate(outcome.counts, rule, now)
  throw new RelayError('RATE_LIMITED', { detail: 'too many requests', retryAfterMs: Math.max(1, retryAfterMs) })
}

/**
 * Builds the rate-limited channel intents of the rendezvous service: each counts one hit of `key`
 * under `rule` (the rate limiter's counter of that name) and throws RATE_LIMITED when refused, with
 * the retry hint `RateLimiter.consume` gives.
 *
 * @example
 * const record = await limits.get(`read:${id}:${clientKey}`, rates.readsPerChannel, id)
 */
export const channelLimits = (store: EphemeralStore, clock: Clock) => {
  const ops = fusedChannelOps(store)
  return {
    /** The live record of `id` (null when gone), once a hit of `key` is admitted. */
    async get(key: string, rule: RateRule, id: string): Promise<ChannelRecord | null> {
      const now = clock.now()
      return settled(await ops.limitAndGet(id, limitOf(key, rule, now)), rule, now)
    },
    /** Takes the live record of `id` if it is one of `api` (null otherwise), once a hit of `key` is admitted. */
    async take(key: string, rule: RateRule, id: string, api: RendezvousApi): Promise<ChannelRecord | null> {
      const now = clock.now()
      return settled(await ops.limitAndTake(id, api, limitOf(key, rule, now)), rule, now)
    },
    /** Applies `write` to channel `id` (see `ChannelStore.limitAndWrite`), once a hit of `key` is admitted. */
    async write(key: string, rule: RateRule, id: string, write: TokenWrite): Promise<TokenWriteOutcome> {
      const now = clock.now()
      return settled(await ops.limitAndWrite(id, write, limitOf(key, rule, now)), rule, now)
    },
    /** Creates `record`, once a hit of `key` is admitted. */
    async create(key: string, rule: RateRule, record: ChannelRecord, maxLive: number): Promise<CreateOutcome> {
      const now = clock.now()
      return settled(await ops.limitAndCreate(record, maxLive, limitOf(key, rule, now)), rule, now)
    },
  }
}

/**
 * {@link channelLimits} on a store in this process, each intent one synchronous step: the same hit
 * of the same counter first, the same channel steps as the composed intents (`fusedChannelOps`) once
 * it is admitted, the same outcomes and RATE_LIMITED.
 *
 * @example
 * const record = channelLimitsNow(store.inProcess, clock).get(`read:${id}:${clientKey}`, rates.readsPerChannel, id)
 */
export const channelLimitsNow = (store: InProcessStore, clock: Clock) => {
  /** Counts the hit of `key`; throws RATE_LIMITED when it is refused. */
  const hit = (key: string, rule: RateRule): { counts: WindowCounts; limit: ChannelLimit; now: number } => {
    const now = clock.now()
    const limit = limitOf(key, rule, now)
    return { counts: store.hitWindow(limit.key, limit.windowIndex, limit.ttlMs), limit, now }
  }
  /** Counts the hit of `key` and reads `id` beside it (as the composed `limitAndGet`); RATE_LIMITED when refused. */
  const read = (key: string, rule: RateRule, id: string): ChannelRecord | null => {
    const { counts, limit, now } = hit(key, rule)
    const record = store.getChannel(id)
    if (!admits(counts, limit)) settled({ admitted: false, counts }, rule, now)
    return record
  }
  return {
    /** `channelLimits.get`, now. */
    get: read,
    /** `channelLimits.take`, now. */
    take(key: string, rule: RateRule, id: string, api: RendezvousApi): ChannelRecord | null {
      const record = read(key, rule, id)
      return record === null || record.api !== api ? null : store.takeChannelOnce(id)
    },
    /** `channelLimits.write`, now (nothing runs in between, so the compare-and-swap cannot lose a race). */
    write(key: string, rule: RateRule, id: string, write: TokenWrite): TokenWriteOutcome {
      const record = read(key, rule, id)
      const decided = decideTokenWrite(record, write)
      if ('outcome' in decided) return decided
      const stored = store.replaceChannelIfMatch(id, record!.rev, decided)
      return stored === 'ok' ? { outcome: 'written', record: decided } : stored === 'missing' ? { outcome: 'missing' } : { outcome: 'busy' }
    },
    /** `channelLimits.create`, now. */
    create(key: string, rule: RateRule, record: ChannelRecord, maxLive: number): CreateOutcome {
      const { counts, limit, now } = hit(key, rule)
      if (!admits(counts, limit)) settled({ admitted: false, counts }, rule, now)
      return store.createChannel(record, maxLive)
    },
  }
}
