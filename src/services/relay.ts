/**
 * The WebSocket transport of native channels, runtime-neutral. Each socket runs one
 * `core/relay/session` state machine (`./relay-driver.ts`); every read and write goes through the
 * rendezvous service, so HTTP and WebSocket are two transports over the same channel record, with the
 * same limits and the same two-party rule. Pushes come from the channel events port, so the other
 * party may be on another process, or on HTTP. A runtime feeds frames in and gives a
 * {@link RelaySocket} to talk back.
 *
 * Per socket, work runs one item at a time, in arrival order (frames, events, timers): a put's ack
 * always precedes the data that follows it, and the `written` event of one's own put finds the token
 * already known, so a party never gets its own write back.
 */
import type { SessionLimits } from '../core/relay/session.ts'
import type { ChannelEvents, Clock, Logger, Random, Scheduler } from '../ports.ts'
import type { Caller, RendezvousService } from './rendezvous.ts'
import { SocketDriver } from './relay-driver.ts'
import { liveSockets, type LiveSockets } from './relay-live.ts'

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
  const live: LiveSockets<SocketDriver> = liveSockets(deps)
  return {
    connect: (id: string, socket: RelaySocket, caller: Caller, log: Logger): RelayConnection =>
      new SocketDriver(deps, live, id, socket, caller, log),
    /** Closes every open socket with 1001 (the server is going away), and every later one at once. */
    shutdown(): void {
      live.stopping = true
      for (const driver of [...live.sockets]) driver.shutdown()
    },
    /** How many sockets are open. */
    openCount: (): number => live.sockets.size,
  }
}
