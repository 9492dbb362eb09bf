/**
 * One WebSocket of a native channel, driven: its `core/relay/session` state machine fed with frames,
 * channel events and deadlines one at a time, in arrival order (`./relay-work.ts`), and the commands
 * it asks for run against the rendezvous service. Built by the relay service (`./relay.ts`).
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
  type SessionState,
  type SessionStep,
  type Welcome,
} from '../core/relay/session.ts'
import { encodeServerFrame } from '../core/relay/ws-protocol.ts'
import type { CounterKey, Logger } from '../ports.ts'
import type { Caller } from './rendezvous.ts'
import { summarizeError } from '../core/error-summary.ts'
import type { Timed } from './relay-timers.ts'
import { SerialWork } from './relay-work.ts'
import type { ChannelMember } from './relay-listeners.ts'
import type { LiveSockets } from './relay-live.ts'
import type { RelayConnection, RelayDeps, RelaySocket } from './relay.ts'

const viewOf = (record: ChannelRecord | null): RecordView | null =>
  record === null ? null : { data: record.data, token: record.token, expiresAtMs: record.expiresAtMs }

// Never the message: it can quote what a client sent.
const describe = summarizeError

/** A socket's work items: a text frame (its text), a binary frame, a ping, a deadline, a channel event. */
const BINARY = 0
const PING = 1
const TICK = 2
type Work = string | typeof BINARY | typeof PING | typeof TICK | ChannelSignal

/**
 * One socket's driver: its session state, timer and work queue. A class, so that a socket is one object
 * whose methods live on the prototype (a closure per step per socket cost ≈ 5 KiB per socket, more
 * under `tsx`, whose `keepNames` gives every named closure a property dictionary of its own); its work
 * items are values, not closures.
 */
export class SocketDriver extends SerialWork<Work> implements RelayConnection, Timed, ChannelMember {
  private state: SessionState
  private role: PartyRole | 'none' = 'none'
  // The party secret lives only here, never in the state or a log line.
  #secret: string | null = null
  /** The channel's write limit, prepared at the hello where the store is in this process (`writeLimitNow`). */
  private writeLimit: CounterKey | undefined = undefined
  /** When the shared timers next tell this socket (`Timed`); a deadline due earlier just fires early. */
  deadlineAtMs = Infinity
  heapIndex = -1
  /** When the socket opened, in ms since `live.epochMs`. */
  private readonly openedMs: number

  constructor(
    private readonly deps: RelayDeps,
    private readonly live: LiveSockets<SocketDriver>,
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
    this.enqueue(data, true)
  }

  binary(): void {
    this.enqueue(BINARY, true)
  }

  ping(): void {
    this.enqueue(PING, true)
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
    this.enqueue(signal, false)
  }

  /** A deadline passed (the shared timers): the tick closes, or finds nothing to do and re-arms. */
  due(): void {
    this.enqueue(TICK, false)
  }

  protected isFrame(work: Work): boolean {
    return typeof work === 'string' || work === BINARY || work === PING
  }

  protected handle(work: Work): Promise<void> | undefined {
    const { clock, limits } = this.deps
    if (typeof work === 'string') return this.run(onFrame(this.state, work, clock.now(), limits))
    if (work === BINARY) return this.run(onBinary(this.state))
    if (work === PING) return this.run(onPing(this.state, clock.now()))
    if (work === TICK) return this.run(onTick(this.state, clock.now(), limits))
    return this.react(work)
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

  private react(signal: ChannelSignal): Promise<void> | undefined {
    if (this.state.kind !== 'joined') return undefined
    if (signal.type === 'written') {
      // Our own put's event (or one we already forwarded): nothing to read.
      if (signal.token === this.state.knownToken) return undefined
      return this.reread(signal)
    }
    if (signal.type === 'resync') {
      this.apply(onResync(this.state))
      return this.reread()
    }
    this.apply(onEvent(this.state, signal))
    return undefined
  }

  /** Reads the record again and tells the session (at once on a store in this process). */
  private reread(hint?: { token: string; by: PartyRole }): Promise<void> | undefined {
    const { rendezvous } = this.deps
    // The store's own fields, read at once (`ChannelPeek`): the session keeps none of the view.
    if (rendezvous.peekNow !== undefined)
      return void this.apply(onRecord(this.state, rendezvous.peekNow(this.id), this.deps.clock.now(), hint))
    return rendezvous.current(this.id).then((record) => this.heard(record, hint))
  }

  private heard(record: ChannelRecord | null, hint: { token: string; by: PartyRole } | undefined): void {
    this.apply(onRecord(this.state, viewOf(record), this.deps.clock.now(), hint))
  }

  private async hello(presented: string | null): Promise<void> {
    const { rendezvous, events, random, clock } = this.deps
    const view = await rendezvous.read('native', this.id, this.caller, presented)
    const party: PartyRole = view.party === 'creator' ? 'creator' : 'joiner'
    await this.live.listeners.join(this.id, this)
    if (this.state.kind === 'closed') return this.stopListening()
    this.role = party
    this.#secret = presented ?? view.joinerSecret ?? null
    this.writeLimit = rendezvous.writeLimitNow?.(this.id)
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

  /** Runs `command`; a put of an admitted party on a store in this process is done at once (`InProcessStore`). */
  private perform(command: SessionCommand): Promise<void> | undefined {
    const { writeAsPartyNow } = this.deps.rendezvous
    // A put comes only once joined: the party was admitted at the hello, not proven again per frame.
    if (command.type !== 'put' || this.role === 'none' || writeAsPartyNow === undefined) return this.performLater(command)
    try {
      const token = writeAsPartyNow(this.id, command.data, command.sequenceToken, this.role, this.writeLimit)
      this.apply(onAck(this.state, token, this.deps.clock.now()))
      return undefined
    } catch (error) {
      return this.refused(error)
    }
  }

  private async performLater(command: SessionCommand): Promise<void> {
    const { rendezvous, clock } = this.deps
    const { id, caller } = this
    try {
      if (command.type === 'hello') return await this.hello(command.secret)
      if (command.type === 'put') {
        const { data, sequenceToken } = command
        const result =
          this.role === 'none'
            ? await rendezvous.write('native', id, data, sequenceToken, caller, this.#secret)
            : await rendezvous.writeAsParty(id, data, sequenceToken, this.role)
        return void this.apply(onAck(this.state, result.record.token, clock.now()))
      }
      if (command.type === 'delete') await rendezvous.remove('native', id, caller, this.#secret)
      else await rendezvous.abort(id, this.#secret, command.reason, caller)
      this.apply(onEnded(this.state))
    } catch (error) {
      await this.refused(error)
    }
  }

  /** A command's RelayError told to the session; anything else is thrown on (the work queue's `failed`). */
  private refused(error: unknown): Promise<void> | undefined {
    if (!(error instanceof RelayError)) throw error
    if (error.code === 'CONCURRENT_WRITE') {
      const { rendezvous } = this.deps
      const cause = error.cause as ChannelRecord | undefined
      if (cause !== undefined) return void this.conflict(cause)
      if (rendezvous.currentNow !== undefined) return void this.conflict(rendezvous.currentNow(this.id))
      return rendezvous.current(this.id).then((current) => this.conflict(current))
    }
    if (error.code === 'INTERNAL') this.log.error({ err: describe(error) }, 'websocket command failed')
    this.apply(onFailure(this.state, error.code, error.retryAfterMs))
    return undefined
  }

  private conflict(current: ChannelRecord | null): void {
    const now = this.deps.clock.now()
    const view = viewOf(current)
    this.apply(view !== null ? onConflict(this.state, view, now) : onRecord(this.state, null, now))
  }

  private run(step: SessionStep): Promise<void> | undefined {
    const command = this.apply(step)
    return command === undefined ? undefined : this.perform(command)
  }
}
