/**
 * The channel-event subscriptions of one relay service: one per channel per process, shared by the
 * sockets of that channel on this process (both parties, when both are here), instead of one per
 * socket. A socket then costs no listener closure, no subscription entry and no stop function of its
 * own (BENCHMARKS.md, WebSocket relay, issue 15), and an event is heard once per process.
 *
 * A member hears every event published after its {@link ChannelListeners.join} resolves (the port's
 * guarantee: it joins a subscription that is already live, or waits for the one being made), in
 * publish order, and `resync` when the subscription lost events.
 */
import type { ChannelSignal } from '../core/relay/channel-event.ts'
import type { ChannelEvents } from '../ports.ts'

/** A socket as the listeners see it. Must return quickly and never throw: queue the work. */
export interface ChannelMember {
  hear(signal: ChannelSignal): void
}

const SUBSCRIBED: Promise<void> = Promise.resolve()

/** One channel's subscription and the members on this process. */
class Subscription {
  readonly members: ChannelMember[] = []
  /** Settles once subscribed (rejects when subscribing failed); a shared settled promise after. */
  ready: Promise<void> = SUBSCRIBED
  stop: (() => Promise<void>) | null = null
  /** What the port calls: one function per channel, not per socket. */
  readonly listener = listenerOf(this)

  deliver(signal: ChannelSignal): void {
    const members = this.members
    if (members.length === 1) deliver(members[0] as ChannelMember, signal)
    // A copy: a member may leave (its socket closes) while we deliver.
    else for (const member of members.slice()) deliver(member, signal)
  }
}

// An unnamed closure: a named one gets a property dictionary of its own under `tsx` (`keepNames`).
function listenerOf(subscription: Subscription): (signal: ChannelSignal) => void {
  return (signal) => subscription.deliver(signal)
}

const deliver = (member: ChannelMember, signal: ChannelSignal): void => {
  try {
    member.hear(signal)
  } catch {
    // Members must not throw; one that does must not starve the other.
  }
}

const without = (members: ChannelMember[], member: ChannelMember): boolean => {
  const index = members.indexOf(member)
  if (index < 0) return false
  members.splice(index, 1)
  return true
}

/** The shared subscriptions of one relay service. */
export class ChannelListeners {
  private readonly channels = new Map<string, Subscription>()

  constructor(private readonly events: ChannelEvents) {}

  /**
   * Adds `member` to channel `id`'s listeners; resolves once the channel is subscribed (rejects,
   * with `member` not added, when subscribing failed).
   */
  async join(id: string, member: ChannelMember): Promise<void> {
    let subscription = this.channels.get(id)
    if (subscription === undefined) {
      const made = new Subscription()
      made.ready = this.events.subscribe(id, made.listener).then(
        (stop) => {
          made.stop = stop
          made.ready = SUBSCRIBED
        },
        (error: unknown) => {
          if (this.channels.get(id) === made) this.channels.delete(id)
          throw error
        },
      )
      this.channels.set(id, made)
      subscription = made
    }
    subscription.members.push(member)
    try {
      await subscription.ready
    } catch (error) {
      without(subscription.members, member)
      throw error
    }
  }

  /** Removes `member` from channel `id`'s listeners; the last one to leave unsubscribes (resolves once done). */
  async leave(id: string, member: ChannelMember): Promise<void> {
    const subscription = this.channels.get(id)
    if (subscription === undefined || !without(subscription.members, member) || subscription.members.length > 0) return
    this.channels.delete(id)
    await subscription.ready
    await subscription.stop?.()
  }

  /** How many channels this process listens to. */
  get size(): number {
    return this.channels.size
  }
}
