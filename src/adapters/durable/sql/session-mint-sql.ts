/**
 * The session mint over a {@link AccountSql} (Node file and account object alike): the device, its
 * first refresh family and access token, and the feed event, inside the caller's transaction. The
 * rules of a planned mint are those of every durable adapter (`../session-mint.ts`).
 */
import type { DeviceRecord } from '../../../core/accounts/records.ts'
import type { FeedAppend, SessionMintOutcome } from '../../../ports.ts'
import { missingParts, reportedIn, type SessionTokens } from '../session-mint.ts'
import { MintRefused, type AccountSql } from './account-sql.ts'
import { recordStatements as q } from './statements.ts'
import { appendEvent, readEvents } from './security-sql.ts'

/**
 * Room for one more device of the account under `max` (finding 62): at the cap, its devices with no
 * live refresh family are signed out, unless that still leaves it at the cap; then nothing is changed
 * and the answer is false. Inside the mint's transaction.
 */
const roomForDevice = (tables: AccountSql, accountId: string, max: number, nowMs: number): boolean => {
  const count = tables.sql.get<{ n: number }>(q.deviceCount(accountId))?.n ?? 0
  if (count < max) return true
  const dead = tables.sql.all<{ id: string }>(q.deadDeviceIds(accountId, nowMs)).map((r) => r.id)
  if (count - dead.length >= max) return false
  for (const id of dead) tables.revokeDevice(accountId, id, nowMs)
  return true
}

/**
 * Mints (or, `planned`, completes) the session; anything but `ok` after a write is thrown as a
 * {@link MintRefused}, so the caller's transaction rolls the earlier writes back.
 *
 * @example
 * const outcome = sql.transaction(() => mintSession(tables, device, tokens, append, planned, nowMs, authorisedEpoch, 100))
 */
export const mintSession = (
  tables: AccountSql,
  device: DeviceRecord,
  tokens: SessionTokens,
  append: FeedAppend | undefined,
  planned: boolean,
  nowMs: number,
  authorisedEpoch?: number,
  maxDevices?: number,
): SessionMintOutcome => {
  // The cap is checked for a new device of a usable account (a refused or repeated mint answers as before).
  const room = () =>
    maxDevices === undefined ||
    !tables.usable(device.accountId, nowMs, authorisedEpoch) ||
    tables.getDevice(device.accountId, device.id) !== null ||
    roomForDevice(tables, device.accountId, maxDevices, nowMs)
  if (!planned) {
    if (!room()) return 'full'
    const made = tables.createDeviceWithTokens(device, tokens.family, tokens.access, nowMs, authorisedEpoch)
    if (append !== undefined) appendEvent(tables, device.accountId, append.event, append.bounds, nowMs)
    return made
  }
  if (!tables.usable(device.accountId, nowMs, authorisedEpoch)) return 'denied'
  const feed = append === undefined ? [] : readEvents(tables, device.accountId, 0, Number.MAX_SAFE_INTEGER, nowMs)
  const found = {
    device: tables.getDevice(device.accountId, device.id),
    family: tables.liveFamily(tokens.family.id, nowMs),
    access: tables.getAccess(tokens.access.id, nowMs),
    reported: append !== undefined && reportedIn(feed, append.event),
  }
  const missing = missingParts(device, tokens, found, append !== undefined)
  if (missing === 'exists') return 'exists'
  if (missing.device && !room()) return 'full'
  const steps = [
    missing.device ? () => tables.createDevice(device, nowMs) : null,
    missing.family ? () => tables.createFamily(tokens.family, nowMs) : null,
    missing.access ? () => tables.putAccess(tokens.access, nowMs) : null,
  ]
  for (const step of steps) {
    const outcome = step?.() ?? 'ok'
    if (outcome !== 'ok') throw new MintRefused(outcome)
  }
  if (missing.event && append !== undefined) appendEvent(tables, device.accountId, append.event, append.bounds, nowMs)
  return 'ok'
}
