/**
 * One WebSocket of a native channel as a state machine: `awaiting-hello` → `joined` → `closed`.
 * Each transition takes the state, what happened and `now`, and returns the next state with what to
 * send, whether to close, and at most one command for the service to run (hello, put, delete,
 * abort), whose outcome comes back as another transition. Pure: no I/O, no timers (the service asks
 * {@link nextDeadline} when to call {@link onTick}).
 *
 * @see ./ws-protocol.ts (frames), ./close-codes.ts (close codes), ../../../docs/websocket.md
 */
import type { ErrorCode } from '../errors.ts'
import type { AbortReason, ChannelEvent, PartyRole } from './channel-event.ts'
import { CLOSE_CODES, closeForError, type Close } from './close-codes.ts'
import { parseClientFrame, type ServerFrame } from './ws-protocol.ts'

/** Timeouts and the frame bound a session enforces. */
export interface SessionLimits {
  helloTimeoutMs: number
  idleTimeoutMs: number
  maxFrameBytes: number
}

/** Where a socket is. Holds no secret: the service keeps the party secret apart. */
export type SessionState =
  | { kind: 'awaiting-hello'; openedAtMs: number; lastActivityMs: number }
  | {
      kind: 'joined'
      role: PartyRole
      /** Names this socket in `attached` events (random, not a secret). */
      conn: string
      /** The newest write token this client has been told (welcome, data, ack). */
      knownToken: string
      expiresAtMs: number
      lastActivityMs: number
      /** True once this socket's own `attached` event came back: later ones of its role replace it. */
      attachSeen: boolean
    }
  | { kind: 'closed'; code: number }

/** Work only the service can do; its outcome returns through {@link onWelcome}, {@link onAck}… */
export type SessionCommand =
  | { type: 'hello'; secret: string | null }
  | { type: 'put'; sequenceToken: string; data: string }
  | { type: 'delete' }
  | { type: 'abort'; reason: AbortReason }

/** The result of a transition. */
export interface SessionStep {
  state: SessionState
  send: readonly ServerFrame[]
  close?: Close
  command?: SessionCommand
}

/** A channel record as a session needs it (the service reads it; null when gone). */
export interface RecordView {
  data: string
  token: string
  expiresAtMs: number
}

const encoder = new TextEncoder()
type Joined = Extract<SessionState, { kind: 'joined' }>
// States are built field by field in one order, not spread: a socket's states then share one shape.
const NOTHING: readonly ServerFrame[] = Object.freeze([])
const stay = (state: SessionState): SessionStep => ({ state, send: NOTHING })
const closeWith = (close: Close): SessionStep => ({ state: { kind: 'closed', code: close.code }, send: NOTHING, close })
/** `state` with what a step changes: the token the client knows, its last activity, whether its `attached` came back. */
const joinedWith = (state: Joined, knownToken: string, lastActivityMs: number, attachSeen: boolean): Joined => ({
  kind: 'joined',
  role: state.role,
  conn: state.conn,
  knownToken,
  expiresAtMs: state.expiresAtMs,
  lastActivityMs,
  attachSeen,
})
const active = (state: SessionState, now: number): SessionState => {
  if (state.kind === 'joined') return joinedWith(state, state.knownToken, now, state.attachSeen)
  return state.kind === 'awaiting-hello' ? { kind: 'awaiting-hello', openedAtMs: state.openedAtMs, lastActivityMs: now } : state
}
/** `state` (already active) and one frame to send. */
const sending = (state: SessionState, frame: ServerFrame): SessionStep => ({ state, send: [frame] })

/** A new socket, waiting for its hello. */
export const openSession = (now: number): SessionState => ({ kind: 'awaiting-hello', openedAtMs: now, lastActivityMs: now })

/**
 * A text frame from the client. Closes 1009 above the frame limit, 4400 on a malformed frame or a
 * second hello, 4401 on anything but hello (or ping) before the welcome.
 *
 * @example
 * const step = onFrame(openSession(0), '{"type":"hello"}', 1, limits) // step.command = { type: 'hello', secret: null }
 */
export const onFrame = (state: SessionState, text: string, now: number, limits: SessionLimits): SessionStep => {
  if (state.kind === 'closed') return stay(state)
  // A UTF-16 code unit is 1 to 3 bytes of UTF-8: the exact count is only needed in between.
  const max = limits.maxFrameBytes
  if (text.length > max || (text.length * 3 > max && encoder.encode(text).length > max)) {
    return closeWith(CLOSE_CODES.tooLarge)
  }
  const parsed = parseClientFrame(text)
  if (!parsed.ok) return closeWith({ code: CLOSE_CODES.badFrame.code, reason: `bad frame: ${parsed.detail ?? 'invalid'}` })
  const frame = parsed.value
  const next = active(state, now)
  if (frame.type === 'ping') return sending(next, { type: 'pong' })
  if (state.kind === 'awaiting-hello') {
    if (frame.type !== 'hello') return closeWith(CLOSE_CODES.unauthenticated)
    return { state: next, send: NOTHING, command: { type: 'hello', secret: frame.secret } }
  }
  switch (frame.type) {
    case 'hello':
      return closeWith({ code: CLOSE_CODES.badFrame.code, reason: 'bad frame: hello already done' })
    case 'put':
      // The parsed frame is the command (the same fields; neither is ever changed).
      return { state: next, send: NOTHING, command: frame }
    case 'delete':
      return { state: next, send: NOTHING, command: { type: 'delete' } }
    case 'abort':
      return { state: next, send: NOTHING, command: { type: 'abort', reason: frame.reason } }
    default: {
      const never: never = frame
      return never
    }
  }
}

/** A binary frame: the protocol is text, so close 1003. */
export const onBinary = (state: SessionState): SessionStep => (state.kind === 'closed' ? stay(state) : closeWith(CLOSE_CODES.binary))

/** A protocol-level ping (answered by the transport): counts as activity. */
export const onPing = (state: SessionState, now: number): SessionStep => stay(active(state, now))

/** Input of {@link onWelcome}: who the hello proved to be, and the record read after subscribing. */
export interface Welcome {
  role: PartyRole
  conn: string
  /** Only when this hello claimed the channel: shown once, never kept in the state. */
  joinerSecret?: string
  record: RecordView | null
}

/** The hello was accepted: send the welcome with the current record, or close if it is gone. */
export const onWelcome = (state: SessionState, welcome: Welcome, now: number): SessionStep => {
  if (state.kind !== 'awaiting-hello') return stay(state)
  const { record } = welcome
  if (record === null) return closeWith(CLOSE_CODES.notFound)
  if (now >= record.expiresAtMs) return closeWith(CLOSE_CODES.expired)
  const joined: SessionState = {
    kind: 'joined',
    role: welcome.role,
    conn: welcome.conn,
    knownToken: record.token,
    expiresAtMs: record.expiresAtMs,
    lastActivityMs: now,
    attachSeen: false,
  }
  const frame: ServerFrame = {
    type: 'welcome',
    role: welcome.role,
    data: record.data,
    sequenceToken: record.token,
    expiresInMs: record.expiresAtMs - now,
  }
  if (welcome.joinerSecret !== undefined) frame.joinerSecret = welcome.joinerSecret
  return sending(joined, frame)
}

/** A command failed with `code` (CONCURRENT_WRITE goes to {@link onConflict} instead). */
export const onFailure = (state: SessionState, code: ErrorCode, retryAfterMs?: number): SessionStep =>
  state.kind === 'closed' ? stay(state) : closeWith(closeForError(code, retryAfterMs))

/** A put landed (or was an idempotent retry): the client now knows `token`. */
export const onAck = (state: SessionState, token: string, now: number): SessionStep =>
  state.kind !== 'joined' ? stay(state) : sending(joinedWith(state, token, now, state.attachSeen), { type: 'ack', sequenceToken: token })

/**
 * A put had a stale token: tell the current one. Its data follows at once as `data` when this socket
 * was never sent it: the event that would have carried it can be lost (a failed PUBLISH on Redis), and a
 * turn-taking client answers a conflict by waiting for that data. When the event did arrive, or
 * arrives later, the record's token is already known and nothing is sent twice.
 */
export const onConflict = (state: SessionState, current: RecordView, now: number): SessionStep => {
  if (state.kind !== 'joined') return stay(state)
  const conflict: ServerFrame = { type: 'conflict', sequenceToken: current.token }
  if (current.token === state.knownToken) return sending(active(state, now), conflict)
  const data: ServerFrame = { type: 'data', data: current.data, sequenceToken: current.token }
  return { state: joinedWith(state, current.token, now, state.attachSeen), send: [conflict, data] }
}

/**
 * The record as read after an event (or a resync). Forwards it as `data` unless the client already
 * knows its token, or `hint` says this party wrote exactly it (by another transport): a party never
 * gets its own write back. A record gone before its expiry was deleted (4404); at expiry, 4410.
 */
export const onRecord = (
  state: SessionState,
  record: RecordView | null,
  now: number,
  hint?: { token: string; by: PartyRole },
): SessionStep => {
  if (state.kind !== 'joined') return stay(state)
  if (record === null) return closeWith(now >= state.expiresAtMs ? CLOSE_CODES.expired : CLOSE_CODES.notFound)
  if (record.token === state.knownToken) return stay(state)
  if (hint !== undefined && hint.by === state.role && hint.token === record.token) {
    return stay(joinedWith(state, record.token, state.lastActivityMs, state.attachSeen))
  }
  return sending(joinedWith(state, record.token, now, state.attachSeen), { type: 'data', data: record.data, sequenceToken: record.token })
}

/**
 * A channel event other than `written`: the channel ended (the other party's end closes with
 * 4404/4409, this party's own with 1000), or a socket was attached (replacement rule).
 */
export const onEvent = (state: SessionState, event: Exclude<ChannelEvent, { type: 'written' }>): SessionStep => {
  if (state.kind !== 'joined') return stay(state)
  switch (event.type) {
    case 'deleted':
      return closeWith(
        event.by === state.role ? CLOSE_CODES.done : { code: CLOSE_CODES.notFound.code, reason: 'deleted by the other party' },
      )
    case 'aborted':
      return closeWith(event.by === state.role ? CLOSE_CODES.done : { code: CLOSE_CODES.aborted.code, reason: event.reason })
    case 'attached':
      if (event.role !== state.role) return stay(state)
      if (event.conn === state.conn) return stay(joinedWith(state, state.knownToken, state.lastActivityMs, true))
      // Events of one channel reach every subscriber in one order: an `attached` heard after our own
      // is newer than us; one heard before it is older and loses to us.
      return state.attachSeen ? closeWith(CLOSE_CODES.replaced) : stay(state)
    default: {
      const never: never = event
      return never
    }
  }
}

/** Events may have been lost: our own `attached` may be among them, so later ones count as newer. */
export const onResync = (state: SessionState): SessionStep =>
  stay(state.kind === 'joined' ? joinedWith(state, state.knownToken, state.lastActivityMs, true) : state)

/** The client sent frames faster than they could be handled: close 4429. */
export const onFlood = (state: SessionState): SessionStep =>
  state.kind === 'closed' ? stay(state) : closeWith({ code: CLOSE_CODES.rateLimited.code, reason: 'too many frames in flight' })

/** This socket's own delete or abort succeeded. */
export const onEnded = (state: SessionState): SessionStep => (state.kind === 'closed' ? stay(state) : closeWith(CLOSE_CODES.done))

/** The server is going away. */
export const onShutdown = (state: SessionState): SessionStep => (state.kind === 'closed' ? stay(state) : closeWith(CLOSE_CODES.goingAway))

/** When {@link onTick} must next run (ms since the epoch), or null once closed. */
export const nextDeadline = (state: SessionState, limits: SessionLimits): number | null => {
  switch (state.kind) {
    case 'awaiting-hello':
      return state.openedAtMs + limits.helloTimeoutMs
    case 'joined':
      return Math.min(state.expiresAtMs, state.lastActivityMs + limits.idleTimeoutMs)
    case 'closed':
      return null
    default: {
      const never: never = state
      return never
    }
  }
}

/** Time passed: close on the hello timeout (4401), the channel's expiry (4410) or idleness (4408). */
export const onTick = (state: SessionState, now: number, limits: SessionLimits): SessionStep => {
  if (state.kind === 'awaiting-hello' && now >= state.openedAtMs + limits.helloTimeoutMs) {
    return closeWith({ code: CLOSE_CODES.unauthenticated.code, reason: 'hello timeout' })
  }
  if (state.kind === 'joined') {
    if (now >= state.expiresAtMs) return closeWith(CLOSE_CODES.expired)
    if (now >= state.lastActivityMs + limits.idleTimeoutMs) return closeWith(CLOSE_CODES.idle)
  }
  return stay(state)
}
