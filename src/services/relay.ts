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
import type { Timed } from './relay-timers.ts'
import { SerialWork } from './relay-work.ts'
import type { ChannelMember } from './relay-listeners.ts'
import { liveSockets, type LiveSockets as SharedSockets } from './relay-live.ts'

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

const viewOf = (record: ChannelRecord | null): RecordView | null =>
  record === null ? null : { data: record.data, token: record.token, expiresAtMs: record.expiresAtMs }

// Never the message: it can quote what a client sent.
const describe = summarizeError

type LiveSockets = SharedSockets<SocketDriver>

/**
 * One socket's driver: its session state, timer and work queue. A class, so that a socket is one object
 * whose methods live on the prototype (a closure per step per socket cost ≈ 5 KiB per socket, more
 * under `tsx`, whose `keepNames` gives every named closure a property dictionary of its own).
 */
class SocketDriver extends SerialWork implements RelayConnection, Timed, ChannelMember {
  private state: SessionState
  private role: PartyRole | 'none' = 'none'
  // The party secret lives only here, never in the state or a log line.
  #secret: string | null = null
  /** When the shared timers next tell this socket (`Timed`); a deadline due earlier just fires early. */
  deadlineAtMs = Infinity
  heapIndex = -1
  /** When the socket opened, in ms since `live.epochMs`. */
  private readonly openedMs: number

  constructor(
    private readonly deps: RelayDeps,
    private readonly live: LiveSockets,
    private readonly id: string,
    private readonly socket: RelaySocket,
    private readonly caller: Caller,
    private readonly log: Logger,
  ) {
    super()
    const now = deps.clock.now()
    this.openedMs = now - live.epochMs
    this.state = openSession(now)
    live.sockets.add(this)
    this.arm()
    // A socket upgraded while the server stops (on a kept-alive connection) is told to go elsewhere.
    if (live.stopping) this.shutdown()
  }

  text(data: string): void {
    this.enqueue(() => this.run(onFrame(this.state, data, this.deps.clock.now(), this.deps.limits)), true)
  }

  binary(): void {
    this.enqueue(() => this.run(onBinary(this.state)), true)
  }

  ping(): void {
    this.enqueue(() => this.run(onPing(this.state, this.deps.clock.now())), true)
  }

  closed(code = 1005): void {
    if (this.state.kind === 'closed') return
    this.state = { kind: 'closed', code }
    this.finish(code, 'client')
  }

  shutdown(): void {
    this.apply(onShutdown(this.state))
  }

  protected isClosed(): boolean {
    return this.state.kind === 'closed'
  }

  protected flooded(): void {
    this.apply(onFlood(this.state))
  }

  protected failed(error: unknown): void {
    this.log.error({ err: describe(error) }, 'websocket task failed')
    this.apply(onFailure(this.state, 'INTERNAL'))
  }

  /** An event of the channel (the shared subscription): handled in turn with the frames. */
  hear(signal: ChannelSignal): void {
    this.enqueue(() => this.react(signal), false)
  }

  /** A deadline passed (the shared timers): the tick closes, or finds nothing to do and re-arms. */
  due(): void {
    this.enqueue(() => this.run(onTick(this.state, this.deps.clock.now(), this.deps.limits)), false)
  }

  private finish(code: number, by: 'server' | 'client'): void {
    this.live.timers.remove(this)
    this.live.sockets.delete(this)
    this.#secret = null
    // A role is taken once among the channel's listeners (the hello).
    if (this.role !== 'none') this.stopListening()
    this.log.info({ role: this.role, code, by, ms: this.deps.clock.now() - this.live.epochMs - this.openedMs }, 'websocket closed')
  }

  private stopListening(): void {
    this.live.listeners.leave(this.id, this).catch((error) => this.log.warn({ err: describe(error) }, 'websocket unsubscribe failed'))
  }

  private arm(): void {
    const deadline = nextDeadline(this.state, this.deps.limits)
    // A timer due before the deadline just fires early: the tick finds nothing to do and re-arms.
    if (deadline === null || (this.heapIndex >= 0 && this.deadlineAtMs <= deadline)) return
    this.live.timers.set(this, deadline)
  }

  private apply(step: SessionStep): SessionCommand | undefined {
    this.state = step.state
    for (const frame of step.send) this.socket.send(encodeServerFrame(frame))
    if (step.close !== undefined) {
      this.socket.close(step.close.code, step.close.reason)
      this.finish(step.close.code, 'server')
      return undefined
    }
    this.arm()
    return step.command
  }

  private async react(signal: ChannelSignal): Promise<void> {
    if (this.state.kind !== 'joined') return
    const { rendezvous, clock } = this.deps
    if (signal.type === 'written') {
      // Our own put's event (or one we already forwarded): nothing to read.
      if (signal.token === this.state.knownToken) return
      const { currentNow } = rendezvous
      const record = viewOf(currentNow !== undefined ? currentNow(this.id) : await rendezvous.current(this.id))
      this.apply(onRecord(this.state, record, clock.now(), signal))
    } else if (signal.type === 'resync') {
      this.apply(onResync(this.state))
      const record = viewOf(await rendezvous.current(this.id))
      this.apply(onRecord(this.state, record, clock.now()))
    } else {
      this.apply(onEvent(this.state, signal))
    }
  }

  private async hello(presented: string | null): Promise<void> {
    const { rendezvous, events, random, clock } = this.deps
    const view = await rendezvous.read('native', this.id, this.caller, presented)
    const party: PartyRole = view.party === 'creator' ? 'creator' : 'joiner'
    await this.live.listeners.join(this.id, this)
    if (this.state.kind === 'closed') return this.stopListening()
    this.role = party
    this.#secret = presented ?? view.joinerSecret ?? null
    const conn = newOpaqueId(random, 9)
    // Best effort: a lost `attached` only means an older socket of this party is not replaced.
    await events
      .publish(this.id, { type: 'attached', role: party, conn })
      .catch((error) => this.log.warn({ err: describe(error) }, 'attached event not published'))
    // Read after subscribing: whatever was written before is in the welcome, whatever after is pushed.
    const record = viewOf(await rendezvous.current(this.id))
    const welcome: Welcome = { role: party, conn, record }
    if (view.joinerSecret !== undefined) welcome.joinerSecret = view.joinerSecret
    this.apply(onWelcome(this.state, welcome, clock.now()))
  }

  private async perform(command: SessionCommand): Promise<void> {
    const { rendezvous, clock } = this.deps
    const { id, caller } = this
    try {
      if (command.type === 'hello') return await this.hello(command.secret)
      if (command.type === 'put') {
        // A put comes only once joined: the party was admitted at the hello, not proven again per frame.
        // On a store in this process the write is one synchronous step (`InProcessStore`).
        const { data, sequenceToken } = command
        const { writeAsPartyNow } = rendezvous
        const result =
          this.role === 'none'
            ? await rendezvous.write('native', id, data, sequenceToken, caller, this.#secret)
            : writeAsPartyNow !== undefined
              ? writeAsPartyNow(id, data, sequenceToken, this.role)
              : await rendezvous.writeAsParty(id, data, sequenceToken, this.role)
        return void this.apply(onAck(this.state, result.record.token, clock.now()))
      }
      if (command.type === 'delete') await rendezvous.remove('native', id, caller, this.#secret)
      else await rendezvous.abort(id, this.#secret, command.reason, caller)
      this.apply(onEnded(this.state))
    } catch (error) {
      if (!(error instanceof RelayError)) throw error
      if (error.code === 'CONCURRENT_WRITE') {
        const current = (error.cause as ChannelRecord | undefined) ?? (await rendezvous.current(id))
        if (current !== null) return void this.apply(onConflict(this.state, current.token, clock.now()))
        return void this.apply(onRecord(this.state, null, clock.now()))
      }
      if (error.code === 'INTERNAL') this.log.error({ err: describe(error) }, 'websocket command failed')
      this.apply(onFailure(this.state, error.code, error.retryAfterMs))
    }
  }

  private async run(step: SessionStep): Promise<void> {
    const command = this.apply(step)
    if (command !== undefined) await this.perform(command)
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
  const live: LiveSockets = liveSockets(deps)
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
