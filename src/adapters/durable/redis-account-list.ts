/**
 * Listing accounts on Redis (`AccountStore.list`, for operators): a sorted set of every username key
 * (`<prefix>{accounts}`, all scores 0, read in lexicographic order with ZRANGEBYLEX) next to the
 * username index of `./redis.ts`. `accounts.create` adds the key once the name is claimed. Accounts
 * made before the set existed are added once, by a SCAN of the username index, the first time a
 * listing starts (`<prefix>{accounts}:complete` marks it done). Limits: a crash between the name's
 * claim and the ZADD leaves that account out of the listing (it is still found by name). On a Redis
 * Cluster the one-off SCAN runs on every primary (a SCAN reads one node), and the set is one key on
 * one slot: it is written once per account created and read only by operators.
 */
import { Cluster, type Redis } from 'ioredis'
import type { RedisClient } from '../storage/redis-client.ts'
import { usernameKey, type AccountRecord } from '../../core/accounts/records.ts'
import type { AccountPage } from '../../ports.ts'

const SCAN_ROUNDS_MAX = 1_000_000

/** The list's keys under `keyPrefix`. */
export const accountListKeys = (keyPrefix: string) => ({ list: `${keyPrefix}{accounts}`, complete: `${keyPrefix}{accounts}:complete` })

/** Adds the username keys already claimed before the list existed (once per key prefix). */
const backfill = async (client: RedisClient, keyPrefix: string): Promise<void> => {
  const { list, complete } = accountListKeys(keyPrefix)
  if ((await client.exists(complete)) === 1) return
  const head = `${keyPrefix}{u:`
  const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client]
  for (const node of nodes) {
    let cursor = '0'
    for (let round = 0; round < SCAN_ROUNDS_MAX; round++) {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${head}*`, 'COUNT', 1000)
      const names = keys.filter((k) => k.startsWith(head) && k.endsWith('}')).map((k) => k.slice(head.length, -1))
      if (names.length > 0) await client.zadd(list, ...names.flatMap((name) => [0, name]))
      cursor = next
      if (cursor === '0') break
    }
  }
  await client.set(complete, '1')
}

/**
 * One page of accounts, in username-key order after `after`.
 *
 * @example
 * const page = await listAccounts(client, 'qrelay:', null, 100, (key) => durable.accounts.findByUsername(key))
 */
export const listAccounts = async (
  client: RedisClient,
  keyPrefix: string,
  after: string | null,
  limit: number,
  find: (key: string) => Promise<AccountRecord | null>,
): Promise<AccountPage> => {
  if (after === null) await backfill(client, keyPrefix)
  const max = Math.max(0, limit)
  const keys = await client.zrangebylex(accountListKeys(keyPrefix).list, after === null ? '-' : `(${after}`, '+', 'LIMIT', 0, max + 1)
  const page = keys.slice(0, max)
  const found = await Promise.all(page.map(find))
  // A key whose account is gone (a lost create race) is skipped; its name stays free.
  const accounts = found.filter((account): account is AccountRecord => account !== null && page.includes(usernameKey(account.username)))
  return { accounts, next: keys.length > page.length && page.length > 0 ? (page.at(-1) as string) : null }
}
