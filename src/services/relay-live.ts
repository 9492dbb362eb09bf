/**
 * What one relay service shares between its sockets: the open ones, their deadlines (one timer), the
 * channel subscriptions (one per channel), the origin of socket times, and whether the server stops.
 */
import type { ChannelEvents, Clock, Scheduler } from '../ports.ts'
import { ChannelListeners } from './relay-listeners.ts'
import { DeadlineTimers } from './relay-timers.ts'

/** The shared state of a relay service's sockets (`Socket`: its socket driver). */
export interface LiveSockets<Socket> {
  readonly sockets: Set<Socket>
  readonly timers: DeadlineTimers
  readonly listeners: ChannelListeners
  /** When the service started: socket times are kept from it, small integers rather than boxed doubles. */
  readonly epochMs: number
  stopping: boolean
}

/**
 * The shared state of a new relay service.
 *
 * @example
 * const live = liveSockets<SocketDriver>({ scheduler, clock, events })
 */
export const liveSockets = <Socket>(deps: { scheduler: Scheduler; clock: Clock; events: ChannelEvents }): LiveSockets<Socket> => ({
  sockets: new Set(),
  timers: new DeadlineTimers(deps.scheduler, deps.clock),
  listeners: new ChannelListeners(deps.events),
  epochMs: deps.clock.now(),
  stopping: false,
})
