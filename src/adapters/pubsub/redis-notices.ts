/**
 * Change notices between the processes sharing one Redis ({@link ChangeNotices}): a process that stores a
 * change of a record some request may be holding a long poll for (a device grant, an account's feed)
 * publishes the record's opaque name on the topic's pub/sub channel `${keyPrefix}notice:<topic>`; every
 * other process hears it and wakes its own waiters of that record at once, instead of at their next
 * re-read. One always-on subscription per topic (a handful of messages per login, not per relay request):
 * no subscribe round trip per held poll, and no window between a poll starting to wait and its
 * subscription. Pub/sub is at most once: a notice lost to a reconnect costs the waiter its re-read
 * interval, as before.
 *
 * On Redis Cluster the topics use sharded pub/sub (SPUBLISH/SSUBSCRIBE) like the channel events.
 */
import type { Cluster, Redis } from 'ioredis'
import type { ChangeNotices } from '../../services/change-waiters.ts'
import type { RedisClient } from '../storage/redis-client.ts'

/** Options of {@link redisChangeNotices}. */
export interface RedisChangeNoticesOptions {
  /** The process's client (the caller owns and closes it); the subscriber connection is its duplicate. */
  client: RedisClient
  keyPrefix?: string
  /** This process's tag in its notices, so it skips its own (random, per process). */
  origin: string
  /** Hears subscriber errors and failed publishes (the runtime logs them). */
  onError?: (error: unknown) => void
}

/** The notices over Redis, closed with the store. */
export interface RedisChangeNotices extends ChangeNotices {
  /** Closes the subscriber connection (not the client). */
  close(): Promise<void>
}

/**
 * Builds the notices over a ready client; topics are subscribed when first listened to.
 *
 * @example
 * const notices = redisChangeNotices({ client, keyPrefix: 'qrelay:', origin: randomTag })
 */
export const redisChangeNotices = (options: RedisChangeNoticesOptions): RedisChangeNotices => {
  const { client, keyPrefix = 'qrelay:', origin, onError = () => {} } = options
  const sharded = client.isCluster
  const subscriber: RedisClient = sharded
    ? (client as Cluster).duplicate([], { lazyConnect: true, shardedSubscribers: true, enableAutoPipelining: false })
    : (client as Redis).duplicate({ lazyConnect: true, enableAutoPipelining: false })
  const channelOf = (topic: string): string => `${keyPrefix}notice:${topic}`
  const listeners = new Map<string, Set<(name: string) => void>>()
  /** Topics Redis confirmed subscribing; the others (a SUBSCRIBE that failed) are tried again at each ready. */
  const subscribed = new Set<string>()
  /** Topics whose SUBSCRIBE is on its way (not sent twice). */
  const subscribing = new Set<string>()
  const subscribe = async (channel: string): Promise<void> => {
    subscribing.add(channel)
    try {
      await (sharded ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel))
      subscribed.add(channel)
    } finally {
      subscribing.delete(channel)
    }
  }
  /** Called after the subscriber lost its connection (notices may have been lost meanwhile). */
  const afterLoss = new Set<() => void>()
  let closed = false
  let readyBefore = false

  subscriber.on('error', onError)
  subscriber.on(sharded ? 'smessage' : 'message', (channel: string, message: string) => {
    const colon = message.indexOf(':')
    if (colon < 0 || message.slice(0, colon) === origin) return
    const name = message.slice(colon + 1)
    for (const listener of listeners.get(channel) ?? []) {
      try {
        listener(name)
      } catch (error) {
        onError(error)
      }
    }
  })
  // ioredis resubscribes after a reconnect; what was published meanwhile is lost: wake every waiter.
  // A topic whose SUBSCRIBE failed (Redis unreachable when the process started) is subscribed now:
  // ioredis resubscribes only what Redis confirmed, so it stayed deaf to the other processes for good.
  subscriber.on(sharded ? 'subscribersReady' : 'ready', () => {
    if (readyBefore) for (const again of afterLoss) again()
    readyBefore = true
    for (const channel of listeners.keys()) {
      if (!subscribed.has(channel) && !subscribing.has(channel))
        subscribe(channel).then(() => {
          for (const again of afterLoss) again()
        }, onError)
    }
  })

  return {
    publish(topic, name) {
      if (closed) return
      const channel = channelOf(topic)
      const message = `${origin}:${name}`
      ;(sharded ? client.spublish(channel, message) : client.publish(channel, message)).catch(onError)
    },

    async listen(topic, onNotice, onLoss) {
      if (closed) throw new Error('change notices are closed')
      const channel = channelOf(topic)
      let set = listeners.get(channel)
      if (set === undefined) {
        set = new Set()
        listeners.set(channel, set)
      }
      set.add(onNotice)
      if (onLoss !== undefined) afterLoss.add(onLoss)
      // Rejects while Redis cannot be reached; the listener stays and the topic is subscribed once it can.
      if (!subscribed.has(channel)) await subscribe(channel)
    },

    async close() {
      closed = true
      listeners.clear()
      subscribed.clear()
      afterLoss.clear()
      if (subscriber.status === 'ready') await subscriber.quit().catch(() => subscriber.disconnect())
      else subscriber.disconnect()
    },
  }
}
