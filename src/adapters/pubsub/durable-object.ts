/**
 * Channel events on Workers: every socket of a channel ends in that channel's Durable Object, so the
 * object itself is the pub/sub hub. Publishing (an HTTP write, delete or abort served by any isolate)
 * is one RPC to the channel's object, which hands the event to the relay sessions it hosts.
 * Subscribing only makes sense inside the object, which uses its own in-memory events for that.
 *
 * @see ../../runtime/channel-object.ts
 */
import { encodeChannelEvent } from '../../core/relay/channel-event.ts'
import type { ChannelEvents } from '../../ports.ts'
import type { ObjectNamespace } from '../storage/durable-object.ts'
import { channelObjectName } from '../storage/opaque-key.ts'

/** The RPC a channel object offers to publishers. */
export interface ChannelPublishApi {
  /** Delivers an encoded channel event to the sockets of channel `id` held by this object. */
  publish(id: string, event: string): Promise<void>
}

/**
 * Builds the publisher side.
 *
 * @example
 * const events = durableObjectChannelEvents({ channels: env.RELAY_CHANNEL })
 */
export const durableObjectChannelEvents = (options: {
  channels: ObjectNamespace<ChannelPublishApi>
  namePrefix?: string
}): ChannelEvents => {
  const prefix = options.namePrefix ?? ''
  return {
    async publish(id, event) {
      await options.channels.getByName(channelObjectName(id, prefix)).publish(id, encodeChannelEvent(event))
    },
    async subscribe() {
      throw new Error('channel events are subscribed to inside the channel object only')
    },
    async close() {},
  }
}
