/**
 * Channel events over Redis pub/sub (ioredis), so that the two ends of a channel can sit on different
 * processes. Publishes go through the process's normal client; every subscription shares one dedicated
 * subscriber (`client.duplicate()`, opened on the first subscribe), reference-counted per channel
 * `${keyPrefix}ev:{<opaque name of the id>}` (no channel id in a pub/sub channel name, which `PUBSUB
 * CHANNELS` lists: see `../storage/opaque-key.ts`).
 *
 * On one Redis (or behind Sentinel): PUBLISH/SUBSCRIBE. On Redis Cluster: sharded pub/sub
 * (SPUBLISH/SSUBSCRIBE, Redis 7), so a message travels only to the node that owns its channel's slot
 * instead of being broadcast over the whole cluster bus; the duplicate keeps one subscriber connection
 * per primary (ioredis `shardedSubscribers`). Redis pub/sub is at most once: after a reconnect (or, on a
 * cluster, a topology change) the adapter subscribes again and tells every listener `resync`, so it
 * re-reads the record.
 */
import type { Cluster, Redis } from 'ioredis'
import type { RedisClient } from '../storage/redis-client.ts'
import { decodeChannelEvent, encodeChannelEvent, type ChannelSignal } from '../../core/relay/channel-event.ts'
import type { ChannelEvents, ChannelListener } from '../../ports.ts'
import { nodeOpaqueKey as opaqueKey } from '../storage/opaque-key-node.ts'

/** Options of {@link redisChannelEvents}. */
export interface RedisChannelEventsOptions {
  /** The process's client (the caller owns and closes it); the subscriber connection is its duplicate. */
  client: RedisClient
  keyPrefix?: string
  /** Hears subscriber-connection errors and failed resubscriptions (the runtime logs them). */
  onError?: (error: unknown) => void
}

/** The Redis adapter, with a count of subscribed channels for tests. */
export interface RedisChannelEvents extends ChannelEvents {
  /** How many channels this process is subscribed to. */
  channelCount(): number
}

interface Entry {
  listeners: Set<ChannelListener>
  /** Settles once Redis confirmed the SUBSCRIBE. */
  ready: Promise<unknown>
}

const deliver = (entry: Entry, signal: ChannelSignal): void => {
  for (const listener of [...entry.listeners]) {
    try {
      listener(signal)
    } catch {
      // Listeners must not throw (ports.ts); one that does must not starve the others.
    }
  }
}

/**
 * Calls `again` each time the subscriber is back after losing its connection (never on the first connect).
 * On a cluster a subscriber connection ends or is replaced when a node fails or slots move; ioredis
 * resubscribes on the new one, then emits 'subscribersReady'.
 */
const afterReconnect = (subscriber: RedisClient, sharded: boolean, again: () => void): void => {
  if (sharded) {
    let lost = false
    const markLost = (): void => {
      lost = true
    }
    subscriber.on('-node', markLost)
    subscriber.on('-subscriber', markLost)
    subscriber.on('subscribersReady', () => {
      if (!lost) return
      lost = false
      again()
    })
    return
  }
  let readyBefore = false
  subscriber.on('ready', () => {
    if (readyBefore) again()
    readyBefore = true
  })
}

/** The subscriber connection(s) for `client`, and how to (un)subscribe one channel on them. */
const subscriberOf = (client: RedisClient) => {
  const sharded = client.isCluster
  const subscriber: RedisClient = sharded
    ? // ioredis resubscribes sharded channels itself and says so with 'subscribersReady'.
      (client as Cluster).duplicate([], { lazyConnect: true, shardedSubscribers: true, enableAutoPipelining: false })
    : // Our own resubscription replaces ioredis' so that `resync` follows a confirmed SUBSCRIBE.
      (client as Redis).duplicate({ lazyConnect: true, autoResubscribe: false, enableAutoPipelining: false })
  return {
    sharded,
    subscriber,
    listen: (name: string): Promise<unknown> => (sharded ? subscriber.ssubscribe(name) : subscriber.subscribe(name)),
    unlisten: (name: string): Promise<unknown> => (sharded ? subscriber.sunsubscribe(name) : subscriber.unsubscribe(name)),
  }
}

/**
 * Builds the Redis events over a ready client. `close()` closes only the subscriber connection it opened.
 *
 * @example
 * const events = redisChannelEvents({ client, keyPrefix: 'qrelay:', onError: (e) => log.warn({ e }, 'pubsub') })
 */
export const redisChannelEvents = (options: RedisChannelEventsOptions): RedisChannelEvents => {
  const { client, keyPrefix = 'qrelay:', onError = () => {} } = options
  const { sharded, subscriber, listen, unlisten } = subscriberOf(client)
  const entries = new Map<string, Entry>()
  const nameOf = (id: string): string => `${keyPrefix}ev:{${opaqueKey(id)}}`
  const resyncAll = (names: readonly string[]): void => {
    for (const name of names) {
      const entry = entries.get(name)
      if (entry !== undefined) deliver(entry, { type: 'resync' })
    }
  }
  let closed = false

  subscriber.on('error', onError)
  subscriber.on(sharded ? 'smessage' : 'message', (name: string, message: string) => {
    const entry = entries.get(name)
    const event = entry === undefined ? null : decodeChannelEvent(message)
    if (entry !== undefined && event !== null) deliver(entry, event)
  })
  afterReconnect(subscriber, sharded, () => {
    const names = [...entries.keys()]
    if (names.length === 0) return
    if (sharded) resyncAll(names)
    else subscriber.subscribe(...names).then(() => resyncAll(names), onError)
  })

  return {
    async publish(id, event) {
      const name = nameOf(id)
      const message = encodeChannelEvent(event)
      await (sharded ? client.spublish(name, message) : client.publish(name, message))
    },

    async subscribe(id, listener) {
      if (closed) throw new Error('channel events are closed')
      const name = nameOf(id)
      let entry = entries.get(name)
      if (entry === undefined) {
        const created: Entry = { listeners: new Set(), ready: listen(name) }
        created.ready.catch(() => {
          if (entries.get(name) === created) entries.delete(name)
        })
        entries.set(name, created)
        entry = created
      }
      const own: ChannelListener = (signal) => listener(signal)
      entry.listeners.add(own)
      try {
        await entry.ready
      } catch (error) {
        entry.listeners.delete(own)
        throw error
      }
      const subscribed = entry
      let stopped = false
      return async () => {
        if (stopped) return
        stopped = true
        subscribed.listeners.delete(own)
        if (subscribed.listeners.size > 0 || entries.get(name) !== subscribed) return
        entries.delete(name)
        // A later subscribe to the same channel is sent after this on the same connection: no gap.
        await unlisten(name).catch(onError)
      }
    },

    async close() {
      closed = true
      entries.clear()
      if (subscriber.status === 'ready') await subscriber.quit().catch(() => subscriber.disconnect())
      else subscriber.disconnect()
    },

    channelCount: () => entries.size,
  }
}
