/**
 * Check-code mismatch strikes of native channels. A party that aborts with `check_code_mismatch`
 * accuses the other party of sitting in the middle; the abuse guard blocks a network after enough
 * strikes. So that no single network can get another one blocked by aborting again and again:
 *
 * - the reporter's own network is struck on every such abort (a network that keeps reporting
 *   mismatches is as suspicious as one that keeps causing them);
 * - the accused network is struck once per distinct reporter a day (the reporter's ASN when known,
 *   else its network), and never when both parties share a network.
 *
 * A victim is thus blocked only when as many independent networks as the abuse threshold report it.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (abuse signals)
 */
import type { ChannelRecord } from '../core/rendezvous/channel.ts'
import type { CounterStore } from '../ports.ts'
import type { AbuseGuard } from './abuse-guard.ts'
import type { Caller } from './rendezvous.ts'

/** How long a strike (and the memory of who reported it) lasts. */
export const STRIKE_TTL_MS = 24 * 3_600_000

/** What the strikes need. */
export interface MismatchStrikeDeps {
  counters: CounterStore
  /** None: only the `strike:mismatch:*` counters are kept. */
  abuse?: AbuseGuard
}

/**
 * Builds the strike recorder.
 *
 * @example
 * const strike = mismatchStrikes({ counters: store.counters, abuse })
 * await strike(record, 'creator', caller)
 */
export const mismatchStrikes =
  ({ counters, abuse }: MismatchStrikeDeps) =>
  async (record: ChannelRecord, reportedBy: 'creator' | 'joiner', caller: Caller): Promise<void> => {
    const byCreator = reportedBy === 'creator'
    const reporter = byCreator ? (record.creatorNetwork ?? caller.clientKey) : (record.joinerNetwork ?? caller.clientKey)
    const reporterAsn = byCreator ? record.creatorAsn : caller.asn
    const accused = byCreator ? record.joinerNetwork : record.creatorNetwork
    await abuse?.record(reporter, 'check_code_abort')
    if (accused === undefined || accused === reporter) return
    const reporterKey = reporterAsn === undefined ? reporter : `asn:${reporterAsn}`
    const first = await counters.increment(`strike:mismatch:${accused}:by:${reporterKey}`, STRIKE_TTL_MS)
    if (first !== 1) return
    await counters.increment(`strike:mismatch:${accused}`, STRIKE_TTL_MS)
    await abuse?.record(accused, 'check_code_abort')
  }
