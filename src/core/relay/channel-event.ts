/**
 * Channel events: the small notices every process hears when a native channel changes, so that
 * WebSocket parties are pushed new data at once whichever process (and transport) took the write.
 * An event never carries the payload or a secret: a listener that cares reads the record itself.
 *
 * @see docs/websocket.md (channels whose two ends land on different processes)
 */

/** One of the two parties of a native channel. */
export type PartyRole = 'creator' | 'joiner'

/** Why a party aborts a native channel (`POST /v1/rendezvous/{id}/abort`, or an `abort` frame). */
export type AbortReason = 'check_code_mismatch' | 'user_cancelled' | 'protocol_error'

/** Every {@link AbortReason}, for validation. */
export const ABORT_REASONS: readonly AbortReason[] = ['check_code_mismatch', 'user_cancelled', 'protocol_error']

/**
 * What happened to a channel:
 * - `written`: a party stored new data under `token` (any transport);
 * - `deleted` / `aborted`: a party ended the channel;
 * - `attached`: a WebSocket of `role` was welcomed; `conn` names that socket (random, not a secret),
 *   so an older socket of the same role knows it has been replaced.
 */
export type ChannelEvent =
  | { type: 'written'; token: string; by: PartyRole }
  | { type: 'deleted'; by: PartyRole }
  | { type: 'aborted'; by: PartyRole; reason: AbortReason }
  | { type: 'attached'; role: PartyRole; conn: string }

/** What a subscriber hears: an event, or `resync` when events may have been lost (e.g. a reconnect). */
export type ChannelSignal = ChannelEvent | { type: 'resync' }

const isRole = (value: unknown): value is PartyRole => value === 'creator' || value === 'joiner'
const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 256

/**
 * The event as compact JSON, for a pub/sub wire.
 *
 * @example
 * encodeChannelEvent({ type: 'deleted', by: 'joiner' }) // '{"type":"deleted","by":"joiner"}'
 */
export const encodeChannelEvent = (event: ChannelEvent): string => JSON.stringify(event)

/**
 * Parses an event from a pub/sub wire; null for anything malformed (a listener must never act on a
 * message it does not understand, e.g. one from a newer version during a rolling upgrade).
 *
 * @example
 * decodeChannelEvent('{"type":"written","token":"t1","by":"creator"}') // { type: 'written', … }
 */
export const decodeChannelEvent = (text: string): ChannelEvent | null => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    // Safe: JSON.parse throws only a SyntaxError on a message that is not JSON, which is "malformed" (null).
    return null
  }
  if (typeof value !== 'object' || value === null) return null
  const v = value as Record<string, unknown>
  switch (v.type) {
    case 'written':
      return isText(v.token) && isRole(v.by) ? { type: 'written', token: v.token, by: v.by } : null
    case 'deleted':
      return isRole(v.by) ? { type: 'deleted', by: v.by } : null
    case 'aborted':
      return isRole(v.by) && ABORT_REASONS.includes(v.reason as AbortReason)
        ? { type: 'aborted', by: v.by, reason: v.reason as AbortReason }
        : null
    case 'attached':
      return isRole(v.role) && isText(v.conn) ? { type: 'attached', role: v.role, conn: v.conn } : null
    default:
      return null
  }
}
