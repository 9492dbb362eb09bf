/**
 * The session mint of the Durable Object durable store (./durable-object.ts): the index claims of the
 * new family and access token, then one transaction of the account object (`createSession`). The
 * rules of a planned mint (a redemption plan's retry) are those of every adapter (`./session-mint.ts`).
 */
import type { DeviceRecord } from '../../core/accounts/records.ts'
import type { Clock, FeedAppend, SessionMintOutcome } from '../../ports.ts'
import type { AccountObjectApi, IndexObjectApi } from './durable-object-api.ts'
import { type SessionTokens, tokensFitDevice } from './session-mint.ts'

/** The index keys of an access token and of a refresh family. */
export const accessKey = (id: string): string => `at:${id}`
export const familyKey = (id: string): string => `rf:${id}`

/** The clock and the objects the mint speaks to. */
interface MintObjects {
  clock: Clock
  account(id: string): AccountObjectApi
  index(key: string): IndexObjectApi
}

/**
 * `DeviceStore.createWithTokens`: the family's and the token's look-ups are claimed first (a retry of
 * the same plan finds them its own: `same`), then the account object writes the session in one
 * transaction. Until then the look-ups point at nothing there. A refused mint releases the claims it
 * made, except a planned one's: its ids are its plan's alone, and a concurrent retry may hold them.
 * A claim made by an earlier try keeps that try's expiry (at most the grace, 60 s, before the records').
 */
export const mintSessionIndexed = async (
  { clock, account, index }: MintObjects,
  device: DeviceRecord,
  records: SessionTokens,
  append: FeedAppend | undefined,
  planned: boolean,
  authorisedEpoch?: number,
  maxDevices?: number,
): Promise<SessionMintOutcome> => {
  if (!tokensFitDevice(device, records)) return 'denied'
  const keys = [
    { key: familyKey(records.family.id), expiresAtMs: records.family.expiresAtMs },
    { key: accessKey(records.access.id), expiresAtMs: records.access.expiresAtMs },
  ]
  const claims = await Promise.all(
    keys.map(({ key, expiresAtMs }) => index(key).claim(key, device.accountId, clock.now(), expiresAtMs, true)),
  )
  const outcome = claims.some((c) => c.outcome === 'other')
    ? 'exists'
    : await account(device.accountId).createSession(device, records, append ?? null, planned, clock.now(), authorisedEpoch, maxDevices)
  if (outcome !== 'ok' && !planned) {
    await Promise.all(keys.map(({ key }, n) => (claims[n]?.outcome === 'new' ? index(key).release(key, device.accountId) : undefined)))
  }
  return outcome
}
