/**
 * Listing accounts over the Durable Object store (`AccountStore.list`, for operators): every index
 * shard gives its confirmed username entries after the cursor, in key order; the pages are merged, and
 * each account is read from its own object. A page costs one call per shard plus one per account.
 */
import { usernameKey, type AccountRecord } from '../../core/accounts/records.ts'
import type { AccountPage } from '../../ports.ts'
import type { AccountObjectApi, IndexObjectApi } from './durable-object-api.ts'

/**
 * One page of accounts in username-key order after `after`.
 *
 * @example
 * const page = await listAcrossShards(shards, (id) => accounts.getByName(`acct:${id}`), null, 100)
 */
export const listAcrossShards = async (
  shards: readonly IndexObjectApi[],
  account: (id: string) => AccountObjectApi,
  after: string | null,
  limit: number,
): Promise<AccountPage> => {
  const max = Math.max(0, limit)
  const perShard = await Promise.all(shards.map((shard) => shard.listUsernames(after, max + 1)))
  const entries = perShard.flat().sort((a, b) => (a.nameKey < b.nameKey ? -1 : a.nameKey > b.nameKey ? 1 : 0))
  const page = entries.slice(0, max)
  const found = await Promise.all(page.map((entry) => account(entry.accountId).getAccount()))
  const accounts = found.filter((a, i): a is AccountRecord => a !== null && usernameKey(a.username) === page[i]?.nameKey)
  return { accounts, next: entries.length > page.length && page.length > 0 ? (page.at(-1)?.nameKey ?? null) : null }
}
