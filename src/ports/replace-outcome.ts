/**
 * Outcome of a compare-and-swap write ({@link ChannelStore.replaceIfMatch},
 * {@link KvStore.replaceIfMatch}, {@link AccountStore.update}).
 */
export type ReplaceOutcome = 'ok' | 'mismatch' | 'missing'
