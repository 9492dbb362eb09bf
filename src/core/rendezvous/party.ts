/**
 * The two-party rule of native channels: the creator holds a secret from creation; the first other
 * party to read or write claims the channel and receives its own secret; anyone else is refused.
 * The relay cannot read the channel, but it can make sure there are only two ends.
 *
 * @see SECURITY.md (the BCP mitigations: request binding, unique values); docs/qr-login.md
 */
import { fail, ok, type Result } from '../errors.ts'
import { equalConstantTime } from '../crypto/secrets.ts'
import type { ChannelRecord } from './channel.ts'

/** Who a request speaks for on a native channel. `claim` = an unclaimed channel's first other party. */
export type PartyVerdict = 'creator' | 'joiner' | 'claim'

/**
 * Decides who presents `secretHash` (sha256 of the bearer secret, or null when none was sent).
 * Both stored hashes are compared in constant time whatever the outcome.
 * Errors: CHANNEL_CLAIMED when a third party reaches a claimed channel, or a wrong secret is sent.
 */
export const identifyParty = (record: ChannelRecord, secretHash: string | null): Result<PartyVerdict, 'CHANNEL_CLAIMED'> => {
  if (secretHash !== null) {
    const isCreator = equalConstantTime(secretHash, record.creatorSecretHash ?? '')
    const isJoiner = equalConstantTime(secretHash, record.joinerSecretHash ?? '')
    if (isCreator && record.creatorSecretHash !== undefined) return ok('creator')
    if (isJoiner && record.joinerSecretHash !== undefined) return ok('joiner')
    return fail('CHANNEL_CLAIMED', 'this secret does not belong to the channel')
  }
  if (record.joinerSecretHash === undefined) return ok('claim')
  return fail('CHANNEL_CLAIMED', 'the channel already has two parties')
}

/**
 * The record after the second party claims it. Fails with CHANNEL_CLAIMED if someone already has:
 * the caller writes the result with compare-and-swap on `rev`, so two racing claims cannot both win.
 */
export const claimChannel = (
  record: ChannelRecord,
  joinerSecretHash: string,
  joinerNetwork: string | undefined,
): Result<ChannelRecord, 'CHANNEL_CLAIMED'> => {
  if (record.joinerSecretHash !== undefined) return fail('CHANNEL_CLAIMED', 'the channel already has two parties')
  const next: ChannelRecord = { ...record, joinerSecretHash, rev: record.rev + 1 }
  if (joinerNetwork !== undefined) next.joinerNetwork = joinerNetwork
  return ok(next)
}
