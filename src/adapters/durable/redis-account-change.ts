/**
 * The Redis durable store's (./redis.ts) steps that sign devices out with their feed event, each one
 * script on the account's slot: `AccountStore.updateAndSignOut` (the account's compare-and-swap, the
 * sign-out of its other devices and the event) and `DeviceStore.revokeMany` (the sign-out of chosen
 * devices and the event). Every key they touch derives from the account hash (`{a:<id>}`): the devices,
 * their tokens and families, the feed. The token and family pointers on their own slots are left to
 * point at nothing, as every revocation leaves them.
 */
import { countedEvent } from '../../core/accounts/counted-event.ts'
import { usernameKey, type AccountRecord } from '../../core/accounts/records.ts'
import type { AccountUpdateEffects, AccountUpdateResult, CountedFeedAppend, DeviceStore, ReplaceOutcome } from '../../ports.ts'
import { ACCOUNT_SWAP, PRELUDE, REVOKE_ALL_EXCEPT } from './redis-scripts.ts'
import { FEED_APPEND } from './redis-security-scripts.ts'
import { eventJson } from './redis-session-mint.ts'
import { flag, type RedisDurableContext } from './redis-tokens.ts'
import { storedEvent } from './security-feed.ts'

// The event of a step, from six ARGV starting at `a` (appendArgs below): hasEvent, retentionMs, maxEvents,
// eventHead, eventTail, counted. The event's JSON is eventHead, then (counted) the number of devices signed
// out and eventTail. Returns the new event's id, '' without an event.
const COUNTED_APPEND = `
local function counted_append(n, now, a)
  if ARGV[a] ~= '1' then return '' end
  local json = ARGV[a + 3]
  if ARGV[a + 5] == '1' then json = json .. string.format('%d', n) .. ARGV[a + 4] end
  return string.format('%d', append_event(base .. 'ev', tonumber(now), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), json))
end
`

// ARGV: expectedVersion, json, nextVersion, usernameKey, status, lockedUntilMs, sameId, signOut, keep, hasKeep, now,
//       then the event's six from 12. Returns {outcome, signedOut, eventId ('' without one)}.
const UPDATE_AND_SIGN_OUT = `
local outcome = account_swap(1)
if outcome ~= 'ok' then return {outcome, 0, ''} end
local n = 0
if ARGV[8] == '1' then n = revoke_all_except(ARGV[9], ARGV[10], ARGV[11]) end
return {'ok', n, counted_append(n, ARGV[11], 12)}`

// ARGV: now, the event's six from 2, then the device ids. Returns {eventId ('' without one), revoked ids…}:
// the event only when a device was signed out.
const REVOKE_MANY = `
local out = {''}
for i = 8, #ARGV do
  if revoke_device(ARGV[i], ARGV[1]) == 1 then out[#out + 1] = ARGV[i] end
end
if #out > 1 then out[1] = counted_append(#out - 1, ARGV[1], 2) end
return out`

/** The scripts as ioredis commands (KEYS[1] = the account hash). */
export interface AccountChangeScripts {
  qdUpdateAndSignOut(acct: string, ...args: Array<string | number>): Promise<[ReplaceOutcome | 'renamed', number, string]>
  qdRevokeMany(acct: string, ...args: Array<string | number>): Promise<string[]>
}

/** [command name, Lua source]. */
export const ACCOUNT_CHANGE_SCRIPTS: ReadonlyArray<readonly [keyof AccountChangeScripts, string]> = [
  ['qdUpdateAndSignOut', PRELUDE + ACCOUNT_SWAP + REVOKE_ALL_EXCEPT + FEED_APPEND + COUNTED_APPEND + UPDATE_AND_SIGN_OUT],
  ['qdRevokeMany', PRELUDE + FEED_APPEND + COUNTED_APPEND + REVOKE_MANY],
]

// Stands for the count in the event's JSON, which the script splits there: no event text holds it.
const COUNT_MARK = '\u0000signed-out\u0000'

/** The event's six arguments of COUNTED_APPEND: hasEvent, retentionMs, maxEvents, and its JSON around its count. */
const appendArgs = (append: CountedFeedAppend | undefined): Array<string | number> => {
  if (append === undefined) return ['0', 0, 0, '', '', '0']
  const { event, countAs, bounds } = append
  const head = ['1', bounds.retentionMs, bounds.maxEvents]
  if (countAs === undefined) return [...head, eventJson(event), '', '0']
  const parts = eventJson({ ...event, details: { ...event.details, [countAs]: COUNT_MARK } }).split(JSON.stringify(COUNT_MARK))
  if (parts.length !== 2) throw new Error('an event detail holds the count mark')
  return [...head, parts[0] as string, parts[1] as string, '1']
}

/** The stored event of a step from its id ('' for none). */
const eventOf = (append: CountedFeedAppend | undefined, eventId: string | undefined, signedOut: number) =>
  append === undefined || eventId === undefined || eventId === ''
    ? null
    : storedEvent(Number(eventId), countedEvent(append.event, append.countAs, signedOut))

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
      ...accountUpdateArgs(id, expectedVersion, next),
      flag(signOut),
      signOut?.keepDeviceId ?? '',
      signOut?.keepDeviceId == null ? '0' : '1',
      clock.now(),
      ...appendArgs(append),
    )
    if (outcome === 'renamed') throw new Error('accounts.update may not change the id or the username')
    const signedOut = Number(count)
    return { outcome, signedOut, event: eventOf(append, eventId, signedOut) }
  }

/**
 * The seven ARGV of an account's compare-and-swap, shared by the plain update (./redis.ts) and
 * {@link redisUpdateAndSignOut}: expectedVersion, json, nextVersion, usernameKey, status, lockedUntilMs, sameId.
 */
export const accountUpdateArgs = (id: string, expectedVersion: number, next: AccountRecord) =>
  [
    expectedVersion,
    JSON.stringify(next),
    next.version,
    usernameKey(next.username),
    next.status,
    next.lockedUntilMs,
    next.id === id ? '1' : '0',
  ] as const

/**
 * `DeviceStore.revokeMany` over the context's client.
 *
 * @example
 * const devices = { …, revokeMany: redisRevokeMany(c) }
 */
export const redisRevokeMany =
  ({ redis, acct, clock }: RedisDurableContext): DeviceStore['revokeMany'] =>
  async (accountId, deviceIds, append) => {
    const [eventId, ...revoked] = await redis.qdRevokeMany(acct(accountId), clock.now(), ...appendArgs(append), ...deviceIds)
    return { revoked, event: eventOf(append, eventId, revoked.length) }
  }
