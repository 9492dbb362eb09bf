/**
 * The rules every durable adapter applies to an account's security-event feed (see
 * `SecurityStateStore` in `src/ports.ts`): the next cursor, the stored shape of an event, and which
 * events a bounded feed keeps. The Lua of the Redis store mirrors them; the conformance suite holds
 * every adapter to the same behaviour.
 */
import type { SecurityEvent, SecurityFeedBounds, StoredSecurityEvent } from '../../ports.ts'

/** An event as kept: the event and when it expires. */
export interface KeptEvent {
  event: StoredSecurityEvent
  expiresAtMs: number
}

/** The cursor after `lastId` at `nowMs`: grows strictly, and follows the clock so ids stay comparable. */
export const nextEventId = (lastId: number, nowMs: number): number => Math.max(lastId + 1, nowMs)

/** `event` with its cursor, copied field by field (only the port's fields are stored). */
export const storedEvent = (id: number, event: SecurityEvent): StoredSecurityEvent => {
  const stored: StoredSecurityEvent = { id, type: event.type, atMs: event.atMs }
  if (event.deviceId !== undefined) stored.deviceId = event.deviceId
  if (event.details !== undefined) stored.details = { ...event.details }
  return stored
}

/**
 * Appends `event` to `kept` (oldest first) at `nowMs`: returns the events to keep, the new one last,
 * without the expired ones and without all but the newest `maxEvents`.
 *
 * @example
 * const { kept, added } = appendKept(state.feed, event, { maxEvents: 100, retentionMs: 7 * DAY_MS }, clock.now())
 */
export const appendKept = (
  kept: readonly KeptEvent[],
  event: SecurityEvent,
  bounds: SecurityFeedBounds,
  nowMs: number,
): { kept: KeptEvent[]; added: StoredSecurityEvent } => {
  const added = storedEvent(nextEventId(kept.at(-1)?.event.id ?? 0, nowMs), event)
  const live = kept.filter((k) => k.expiresAtMs > nowMs)
  live.push({ event: added, expiresAtMs: nowMs + bounds.retentionMs })
  return { kept: live.slice(-Math.max(1, bounds.maxEvents)), added }
}

/** The unexpired events of `kept` after `since`, oldest first, at most `limit`. */
export const readKept = (kept: readonly KeptEvent[], since: number, limit: number, nowMs: number): StoredSecurityEvent[] =>
  kept
    .filter((k) => k.expiresAtMs > nowMs && k.event.id > since)
    .slice(0, Math.max(0, limit))
    .map((k) => structuredClone(k.event))
