/**
 * Native writes by a party the transport has already admitted (a WebSocket after its hello): what
 * `write('native', …)` does for a party (size, the channel's write limit, the token check,
 * compare-and-swap, the `written` event), without proving the party again on every frame: a
 * channel's party secrets never change once it is claimed, and the claim happened at the hello.
 */
import { RelayError } from '../core/errors.ts'
import type { PartyRole } from '../core/relay/channel-event.ts'
import {
  STALE_TOKEN,
  writeChannel,
  writeToken,
  type ChannelRecord,
  type RendezvousApi,
  type TextSha256,
} from '../core/rendezvous/channel.ts'
import type { RateRule } from '../core/policy/rate-limit.ts'
import type { ChannelEvent } from '../core/relay/channel-event.ts'
import type { ChannelPeek, Clock, CounterKey, EphemeralStore } from '../ports.ts'
import { consumeNow, limitKeyNow, type RateLimiter } from './rate-limiter.ts'
import { CLAIM_ATTEMPTS, type SettledView } from './rendezvous-access.ts'

/** What the party writes need of the rendezvous service. */
export interface PartyWriteDeps {
  store: EphemeralStore
  limiter: RateLimiter
  clock: Clock
  /** The channel's write limit. */
  rule: RateRule
  hash: TextSha256 | undefined
  /** Throws PAYLOAD_TOO_LARGE. */
  checkSize(data: string): void
  /** The live record of that API, or NOT_FOUND. */
  load(api: RendezvousApi, id: string): Promise<ChannelRecord>
  /** Tells the channel's listeners, without waiting. */
  announce(id: string, event: ChannelEvent): void
}

const notFound = (): RelayError => new RelayError('NOT_FOUND', { detail: 'no such channel' })

/**
 * Builds the party writes: `writeAsParty` on any store, and `writeAsPartyNow`, the same as one
 * synchronous step, where the store answers in this process (memory; undefined otherwise).
 *
 * @example
 * const { writeAsParty } = partyWrites({ store, limiter, clock, rule, hash, checkSize, load, announce })
 */
export const partyWrites = (deps: PartyWriteDeps) => {
  const { store, limiter, clock, rule, hash, checkSize, load, announce } = deps
  const inProcess = store.inProcess

  /** The write decided on `record`: the record to store, or null for an idempotent retry. Throws CONCURRENT_WRITE. */
  const decide = (record: ChannelRecord, data: string, expectedToken: string): ChannelRecord | null => {
    const written = writeChannel(record, { data, expectedToken, now: clock.now(), idempotentRetry: true, hash })
    if (!written.ok) throw new RelayError('CONCURRENT_WRITE', { detail: written.detail ?? 'stale token', cause: record })
    return written.value.changed ? written.value.record : null
  }

  const stored = (id: string, record: ChannelRecord, party: PartyRole): SettledView => {
    announce(id, { type: 'written', token: record.token, by: party })
    return { record, party, changed: true }
  }

  return {
    /**
     * A native write by an admitted party. Errors: NOT_FOUND, PAYLOAD_TOO_LARGE, CONCURRENT_WRITE
     * (with the record on `cause`), RATE_LIMITED.
     */
    async writeAsParty(id: string, data: string, expectedToken: string, party: PartyRole): Promise<SettledView> {
      checkSize(data)
      // The read and the hit leave together (one round trip to a remote store, not two in a row); the
      // read still decides first, so a missing channel answers NOT_FOUND whatever the count says.
      const loading = load('native', id)
      const counting = limiter.consume(`write:${id}`, rule)
      // Safe: marks the hit's refusal as handled while the read is awaited (a failed read wins over
      // it, as when the hit came second); once the read succeeds the hit itself is awaited below.
      counting.catch(() => {})
      let record: ChannelRecord | undefined = await loading
      await counting
      for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
        record ??= await load('native', id)
        const next = decide(record, data, expectedToken)
        if (next === null) return { record, party, changed: false }
        const outcome = await store.channels.replaceIfMatch(id, record.rev, next)
        if (outcome === 'missing') throw notFound()
        if (outcome === 'ok') return stored(id, next, party)
        record = undefined
      }
      throw new RelayError('CONCURRENT_WRITE', { detail: 'the channel is changing too fast' })
    },

    /**
     * {@link writeAsParty} as one synchronous step on a store in this process: the same read, count,
     * checks, compare-and-swap and event, in the same order, with nothing running in between (so the
     * compare-and-swap cannot miss). The record is read and written where the store holds it (no copy
     * of it either way); the answer is the channel's token after the write (the new one, or the
     * current one for a retry of the same data). Undefined when the store is not in this process.
     */
    writeAsPartyNow:
      inProcess === undefined
        ? undefined
        : (id: string, data: string, expectedToken: string, party: PartyRole, limit?: CounterKey): string => {
            checkSize(data)
            const record = inProcess.peekChannel(id)
            if (record === null || record.api !== 'native') throw notFound()
            // `writeChannel` (core/rendezvous/channel.ts) decided on the stored fields: an idempotent
            // retry of the same data changes nothing; a stale token is refused with the record as read
            // here (a copy, on that rare path only); the next token chains on the current one.
            const stale = expectedToken !== record.token && data !== record.data ? inProcess.getChannel(id) : undefined
            if (stale === null) throw notFound()
            consumeNow(inProcess, clock, limit ?? `write:${id}`, rule)
            if (stale !== undefined) throw new RelayError('CONCURRENT_WRITE', { detail: STALE_TOKEN, cause: stale })
            if (expectedToken !== record.token) return record.token
            const token = writeToken(id, record.token, data, hash)
            const outcome = inProcess.writeChannelNow(id, record.rev, data, token, clock.now())
            if (outcome === 'missing') throw notFound()
            if (outcome === 'mismatch') throw new RelayError('CONCURRENT_WRITE', { detail: 'the channel is changing too fast' })
            announce(id, { type: 'written', token, by: party })
            return token
          },

    /**
     * The channel's write limit as `writeAsPartyNow` counts it, prepared once (`limit`: a socket keeps
     * it, so that its puts do not hash the counter's key again); undefined when the store is not in this process.
     */
    writeLimitNow: inProcess === undefined ? undefined : (id: string): CounterKey => limitKeyNow(inProcess, `write:${id}`),

    /**
     * The live native channel's fields as the store holds them (see `ChannelPeek`: read at once, never
     * kept), where the store is in this process: what a socket forwards after an event. Null when
     * gone or not native; undefined when the store is not in this process.
     */
    peekNow:
      inProcess === undefined
        ? undefined
        : (id: string): ChannelPeek | null => {
            const record = inProcess.peekChannel(id)
            return record === null || record.api !== 'native' ? null : record
          },
  }
}
