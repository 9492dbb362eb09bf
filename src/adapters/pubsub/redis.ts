/**
 * Channel events over Redis PUBLISH/SUBSCRIBE (ioredis), so that the two ends of a channel can sit on
 * different processes. Publishes go through the process's normal client; every subscription shares
 * one dedicated subscriber connection (`client.duplicate()`, opened on the first subscribe),
 * reference-counted per channel `${keyPrefix}ev:{<opaque name of the id>}` (no channel id in a
 * pub/sub channel name, which `PUBSUB CHANNELS` lists: see `../storage/opaque-key.ts`). Redis pub/sub
 * is at most once: after a reconnect the adapter subscribes again and tells every listener `resync`,
 * so it re-reads the record.
 */
import type { Redis } from 'ioredis'
import { decodeChannelEvent, encodeChannelEvent, type ChannelSignal } from '../../core/relay/channel-event.ts'
import type { ChannelEvents, ChannelListener } from '../../ports.ts'
import { opaqueKey } from '../storage/opaque-key.ts'

/** Options of {@link redisChannelEvents}. */
export interface RedisChannelEventsOptions {
  /** The process's client (the caller owns and closes it); the subscriber connection is its duplicate. */
  client: Redis
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
 * Builds the Redis events over a ready client. `close()` closes only the subscriber connection it opened.
 *
 * @example
 * const events = redisChannelEvents({ client, keyPrefix: 'qrelay:', onError: (e) => log.warn({ e }, 'pubsub') })
 */
export const redisChannelEvents = (options: RedisChannelEventsOptions): RedisChannelEvents => {
  const { client, keyPrefix = 'qrelay:', onError = () => {} } = options
  // Our own resubscription (below) replaces ioredis' so that `resync` follows a confirmed SUBSCRIBE.
  const subscriber = client.duplicate({ lazyConnect: true, autoResubscribe: false, enableAutoPipelining: false })
  const entries = new Map<string, Entry>()
  const nameOf = (id: string): string => `${keyPrefix}ev:{${opaqueKey(id)}}`
  let readyBefore = false
  let closed = false

  subscriber.on('error', onError)
  subscriber.on('message', (name: string, message: string) => {
    const entry = entries.get(name)
    const event = entry === undefined ? null : decodeChannelEvent(message)
    if (entry !== undefined && event !== null) deliver(entry, event)
  })
  subscriber.on('ready', () => {
    if (!readyBefore) {
      readyBefore = true
      return
    }
    const names = [...entries.keys()]
    if (names.length === 0) return
    subscriber.subscribe(...names).then(() => {
      for (const name of names) {
        const entry = entries.get(name)
        if (entry !== undefined) deliver(entry, { type: 'resync' })
      }
    }, onError)
  })

  return {
    async publish(id, event) {
      await client.publish(nameOf(id), encodeChannelEvent(event))
    },

    async subscribe(id, listener) {
      if (closed) throw new Error('channel events are closed')
      const name = nameOf(id)
      let entry = entries.get(name)
      if (entry === undefined) {
        const created: Entry = { listeners: new Set(), ready: subscriber.subscribe(name) }
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
        await subscriber.unsubscribe(name).catch(onError)
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
