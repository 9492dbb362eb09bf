/**
 * `AccountStore.updateAndSignOut` of the Redis durable store (./redis.ts): the account's
 * compare-and-swap, the sign-out of its other devices and the feed event in one script on the
 * account's slot. Every key it touches derives from the account hash (`{a:<id>}`): the devices, their
 * tokens and families, the feed. The token and family pointers on their own slots are left to point at
 * nothing, as every revocation leaves them.
 */
import { countedEvent } from '../../core/accounts/counted-event.ts'
import { usernameKey, type AccountRecord } from '../../core/accounts/records.ts'
import type { AccountUpdateEffects, AccountUpdateResult, ReplaceOutcome } from '../../ports.ts'
import { PRELUDE } from './redis-scripts.ts'
import { FEED_APPEND } from './redis-security-scripts.ts'
import { eventJson } from './redis-session-mint.ts'
import { flag, type RedisDurableContext } from './redis-tokens.ts'
import { storedEvent } from './security-feed.ts'

// ARGV: expectedVersion, json, nextVersion, usernameKey, status, lockedUntilMs, sameId, signOut, keep, hasKeep, now,
//       hasEvent, retentionMs, maxEvents, eventHead, eventTail, counted. The event's JSON is eventHead, then (counted)
//       the number of devices signed out and eventTail. Returns {outcome, signedOut, eventId ('' without one)}.
const UPDATE_AND_SIGN_OUT = `
local cur = redis.call('HMGET', KEYS[1], 'v', 'uk')
if not cur[1] then return {'missing', 0, ''} end
if cur[2] ~= ARGV[4] or ARGV[7] ~= '1' then return {'renamed', 0, ''} end
if cur[1] ~= ARGV[1] then return {'mismatch', 0, ''} end
redis.call('HSET', KEYS[1], 'j', ARGV[2], 'v', ARGV[3], 's', ARGV[5], 'l', ARGV[6])
local n = 0
if ARGV[8] == '1' then
  for _, id in ipairs(redis.call('SMEMBERS', base .. 'devs')) do
    if not (ARGV[10] == '1' and id == ARGV[9]) then n = n + revoke_device(id, ARGV[11]) end
  end
end
if ARGV[12] ~= '1' then return {'ok', n, ''} end
local json = ARGV[15]
if ARGV[17] == '1' then json = json .. string.format('%d', n) .. ARGV[16] end
local id = append_event(base .. 'ev', tonumber(ARGV[11]), tonumber(ARGV[13]), tonumber(ARGV[14]), json)
return {'ok', n, string.format('%d', id)}`

/** The script as an ioredis command (KEYS[1] = the account hash). */
export interface AccountChangeScripts {
  qdUpdateAndSignOut(acct: string, ...args: Array<string | number>): Promise<[ReplaceOutcome | 'renamed', number, string]>
}

/** [command name, Lua source]. */
export const ACCOUNT_CHANGE_SCRIPTS: ReadonlyArray<readonly [keyof AccountChangeScripts, string]> = [
  ['qdUpdateAndSignOut', PRELUDE + FEED_APPEND + UPDATE_AND_SIGN_OUT],
]

// Stands for the count in the event's JSON, which the script splits there: no event text holds it.
const COUNT_MARK = '\u0000signed-out\u0000'

/** The event's JSON around its count: [head, tail, counted]. */
const eventParts = ({ event, countAs }: NonNullable<AccountUpdateEffects['append']>): [string, string, string] => {
  if (countAs === undefined) return [eventJson(event), '', '0']
  const parts = eventJson({ ...event, details: { ...event.details, [countAs]: COUNT_MARK } }).split(JSON.stringify(COUNT_MARK))
  if (parts.length !== 2) throw new Error('an event detail holds the count mark')
  return [parts[0] as string, parts[1] as string, '1']
}

/**
 * `AccountStore.updateAndSignOut` over the context's client.
 *
 * @example
 * const accounts = { …, updateAndSignOut: redisUpdateAndSignOut(c) }
 */
export const redisUpdateAndSignOut =
  ({ redis, acct, clock }: RedisDurableContext) =>
  async (
    id: string,
    expectedVersion: number,
    next: AccountRecord,
    { signOut, append }: AccountUpdateEffects,
  ): Promise<AccountUpdateResult> => {
    const [outcome, count, eventId] = await redis.qdUpdateAndSignOut(
      acct(id),
      expectedVersion,
      JSON.stringify(next),
      next.version,
      usernameKey(next.username),
      next.status,
      next.lockedUntilMs,
      next.id === id ? '1' : '0',
      flag(signOut),
      signOut?.keepDeviceId ?? '',
      signOut?.keepDeviceId == null ? '0' : '1',
      clock.now(),
      flag(append),
      append?.bounds.retentionMs ?? 0,
      append?.bounds.maxEvents ?? 0,
      ...(append === undefined ? ['', '', '0'] : eventParts(append)),
    )
    if (outcome === 'renamed') throw new Error('accounts.update may not change the id or the username')
    const signedOut = Number(count)
    const event =
      append === undefined || eventId === '' ? null : storedEvent(Number(eventId), countedEvent(append.event, append.countAs, signedOut))
    return { outcome, signedOut, event }
  }
