/**
 * The WebSocket transport of native channels, runtime-neutral. Each socket runs one
 * `core/relay/session` state machine; every read and write goes through the rendezvous service, so
 * HTTP and WebSocket are two transports over the same channel record, with the same limits and the
 * same two-party rule. Pushes come from the channel events port, so the other party may be on
 * another process, or on HTTP. A runtime feeds frames in and gives a {@link RelaySocket} to talk back.
 *
 * Per socket, work runs one item at a time, in arrival order (frames, events, timers): a put's ack
 * always precedes the data that follows it, and the `written` event of one's own put finds the token
 * already known, so a party never gets its own write back.
 */
import { RelayError } from '../core/errors.ts'
import { newOpaqueId } from '../core/crypto/secrets.ts'
import type { ChannelRecord } from '../core/rendezvous/channel.ts'
import type { ChannelSignal, PartyRole } from '../core/relay/channel-event.ts'
import {
  nextDeadline,
  onAck,
  onBinary,
  onConflict,
  onEnded,
  onEvent,
  onFailure,
  onFlood,
  onFrame,
  onPing,
  onRecord,
  onResync,
  onShutdown,
  onTick,
  onWelcome,
  openSession,
  type RecordView,
  type SessionCommand,
  type SessionLimits,
  type SessionState,
  type SessionStep,
  type Welcome,
} from '../core/relay/session.ts'
import { encodeServerFrame } from '../core/relay/ws-protocol.ts'
import type { ChannelEvents, Clock, Logger, Random, Scheduler } from '../ports.ts'
import type { Caller, RendezvousService } from './rendezvous.ts'
import { summarizeError } from '../core/error-summary.ts'

/** What the relay needs of a socket; the runtime adapts its own. */
export interface RelaySocket {
  send(text: string): void
  close(code: number, reason: string): void
}

/** What the runtime tells the relay about one socket. */
export interface RelayConnection {
  /** A text frame arrived. */
  text(data: string): void
  /** A binary frame arrived (refused: the protocol is text). */
  binary(): void
  /** A protocol-level ping arrived (the runtime answers it; it counts as activity). */
  ping(): void
  /** The socket is closed, by either side (`code` as the runtime saw it). */
  closed(code?: number): void
}

/** What the relay service needs. */
export interface RelayDeps {
  rendezvous: RendezvousService
  events: ChannelEvents
  clock: Clock
  random: Random
  scheduler: Scheduler
  limits: SessionLimits
}

/** Client frames waiting to be handled beyond which the socket is closed (4429). */
const MAX_QUEUED_FRAMES = 32

const viewOf = (record: ChannelRecord | null): RecordView | null =>
  record === null ? null : { data: record.data, token: record.token, expiresAtMs: record.expiresAtMs }

// Never the message: it can quote what a client sent.
const describe = summarizeError

/** The sockets of one relay service: how to shut each one down, and whether the server is stopping. */
interface LiveSockets {
  readonly shutdowns: Set<() => void>
  stopping: boolean
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: one socket's driver: eight short steps (finish, arm, apply, enqueue, react, hello, perform, run) share its session state, timer and work queue; none is over 25 lines
const connectSocket = (
  deps: RelayDeps,
  live: LiveSockets,
  id: string,
  socket: RelaySocket,
  caller: Caller,
  log: Logger,
): RelayConnection => {
  const { rendezvous, events, clock, random, scheduler, limits } = deps
  const openedAtMs = clock.now()
  let state: SessionState = openSession(openedAtMs)
  let role = 'none'
  // The party secret lives only in this closure, never in the state or a log line.
  let secret: string | null = null
  let stopListening: (() => Promise<void>) | null = null
  let cancelTimer: (() => void) | null = null
  let timerAtMs = Infinity
  let queue: Promise<void> = Promise.resolve()
  let queuedFrames = 0

  const finish = (code: number, by: 'server' | 'client'): void => {
    cancelTimer?.()
    cancelTimer = null
    live.shutdowns.delete(shutdown)
    secret = null
    const stop = stopListening
    stopListening = null
    stop?.().catch((error) => log.warn({ err: describe(error) }, 'websocket unsubscribe failed'))
    log.info({ role, code, by, ms: clock.now() - openedAtMs }, 'websocket closed')
  }

  const arm = (): void => {
    const deadline = nextDeadline(state, limits)
    // A timer due before the deadline just fires early: the tick finds nothing to do and re-arms.
    if (deadline === null || (cancelTimer !== null && timerAtMs <= deadline)) return
    cancelTimer?.()
    timerAtMs = deadline
    cancelTimer = scheduler.schedule(Math.max(0, deadline - clock.now()), () => {
      cancelTimer = null
      timerAtMs = Infinity
      enqueue(() => run(onTick(state, clock.now(), limits)), false)
    })
  }

  const apply = (step: SessionStep): SessionCommand | undefined => {
    state = step.state
    for (const frame of step.send) socket.send(encodeServerFrame(frame))
    if (step.close !== undefined) {
      socket.close(step.close.code, step.close.reason)
      finish(step.close.code, 'server')
      return undefined
    }
    arm()
    return step.command
  }

  const enqueue = (task: () => Promise<unknown> | unknown, fromClient: boolean): void => {
    if (state.kind === 'closed') return
    if (fromClient && queuedFrames >= MAX_QUEUED_FRAMES) return void apply(onFlood(state))
    if (fromClient) queuedFrames++
    queue = queue.then(async () => {
      try {
        if (state.kind !== 'closed') await task()
      } catch (error) {
        log.error({ err: describe(error) }, 'websocket task failed')
        apply(onFailure(state, 'INTERNAL'))
      } finally {
        if (fromClient) queuedFrames--
      }
    })
  }

  const react = async (signal: ChannelSignal): Promise<void> => {
    if (state.kind !== 'joined') return
    if (signal.type === 'written') {
      // Our own put's event (or one we already forwarded): nothing to read.
      if (signal.token === state.knownToken) return
      const record = viewOf(await rendezvous.current(id))
      apply(onRecord(state, record, clock.now(), signal))
    } else if (signal.type === 'resync') {
      apply(onResync(state))
      const record = viewOf(await rendezvous.current(id))
      apply(onRecord(state, record, clock.now()))
    } else {
      apply(onEvent(state, signal))
    }
  }

  const hello = async (presented: string | null): Promise<void> => {
    const view = await rendezvous.read('native', id, caller, presented)
    const party: PartyRole = view.party === 'creator' ? 'creator' : 'joiner'
    const stop = await events.subscribe(id, (signal) => enqueue(() => react(signal), false))
    if (state.kind === 'closed') return void stop().catch((error) => log.warn({ err: describe(error) }, 'websocket unsubscribe failed'))
    stopListening = stop
    role = party
    secret = presented ?? view.joinerSecret ?? null
    const conn = newOpaqueId(random, 9)
    // Best effort: a lost `attached` only means an older socket of this party is not replaced.
    await events
      .publish(id, { type: 'attached', role: party, conn })
      .catch((error) => log.warn({ err: describe(error) }, 'attached event not published'))
    // Read after subscribing: whatever was written before is in the welcome, whatever after is pushed.
    const record = viewOf(await rendezvous.current(id))
    const welcome: Welcome = { role: party, conn, record }
    if (view.joinerSecret !== undefined) welcome.joinerSecret = view.joinerSecret
    apply(onWelcome(state, welcome, clock.now()))
  }

  const perform = async (command: SessionCommand): Promise<void> => {
    try {
      if (command.type === 'hello') return await hello(command.secret)
      if (command.type === 'put') {
        const result = await rendezvous.write('native', id, command.data, command.sequenceToken, caller, secret)
        return void apply(onAck(state, result.record.token, clock.now()))
      }
      if (command.type === 'delete') await rendezvous.remove('native', id, caller, secret)
      else await rendezvous.abort(id, secret, command.reason, caller)
      apply(onEnded(state))
    } catch (error) {
      if (!(error instanceof RelayError)) throw error
      if (error.code === 'CONCURRENT_WRITE') {
        const current = (error.cause as ChannelRecord | undefined) ?? (await rendezvous.current(id))
        if (current !== null) return void apply(onConflict(state, current.token, clock.now()))
        return void apply(onRecord(state, null, clock.now()))
      }
      if (error.code === 'INTERNAL') log.error({ err: describe(error) }, 'websocket command failed')
      apply(onFailure(state, error.code, error.retryAfterMs))
    }
  }

  const run = async (step: SessionStep): Promise<void> => {
    const command = apply(step)
    if (command !== undefined) await perform(command)
  }

  const shutdown = (): void => void apply(onShutdown(state))
  live.shutdowns.add(shutdown)
  arm()
  // A socket upgraded while the server stops (on a kept-alive connection) is told to go elsewhere.
  if (live.stopping) shutdown()

  return {
    text: (data) => enqueue(() => run(onFrame(state, data, clock.now(), limits)), true),
    binary: () => enqueue(() => run(onBinary(state)), true),
    ping: () => enqueue(() => run(onPing(state, clock.now())), true),
    closed: (code = 1005) => {
      if (state.kind === 'closed') return
      state = { kind: 'closed', code }
      finish(code, 'client')
    },
  }
}

/** The relay service. */
export type RelayService = ReturnType<typeof relayService>

/**
 * Builds the relay service.
 *
 * @example
 * const relay = relayService({ rendezvous, events, clock, random, scheduler, limits })
 * const conn = relay.connect(id, { send: (t) => ws.send(t), close: (c, r) => ws.close(c, r) }, caller, log)
 * ws.on('message', (data) => conn.text(String(data)))
 */
export const relayService = (deps: RelayDeps) => {
  const live: LiveSockets = { shutdowns: new Set(), stopping: false }
  return {
    connect: (id: string, socket: RelaySocket, caller: Caller, log: Logger): RelayConnection =>
      connectSocket(deps, live, id, socket, caller, log),
    /** Closes every open socket with 1001 (the server is going away), and every later one at once. */
    shutdown(): void {
      live.stopping = true
      for (const close of [...live.shutdowns]) close()
    },
    /** How many sockets are open. */
    openCount: (): number => live.shutdowns.size,
  }
}
