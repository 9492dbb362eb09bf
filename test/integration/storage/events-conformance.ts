/**
 * The contract of the channel events port (src/ports.ts `ChannelEvents`), run against every adapter:
 * `describeChannelEvents(name, make)` where `make()` returns two instances that share one bus, as two
 * processes would (for the memory adapter, both are the same instance). Waits are bounded polls.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ChannelEvent, ChannelSignal } from '../../../src/core/relay/channel-event.ts'
import type { ChannelEvents } from '../../../src/ports.ts'

/** Two instances over one bus, and how many channels they listen to together. */
export interface EventsPair {
  a: ChannelEvents
  b: ChannelEvents
  channelCount(): number
  close(): Promise<void>
}

export type MakeEvents = () => Promise<EventsPair> | EventsPair

/** Resolves once `done()` holds; fails after `tries` polls 10 ms apart. */
export const eventually = async (done: () => boolean, tries = 300): Promise<void> => {
  for (let i = 0; i < tries; i++) {
    if (done()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error('condition not met in time')
}

/** A listener that keeps what it hears. */
export const recorder = () => {
  const heard: ChannelSignal[] = []
  return { heard, listener: (signal: ChannelSignal) => void heard.push(signal) }
}

let serial = 0
const channelId = (): string => `ev-${Date.now().toString(36)}-${serial++}`
const written = (i: number): ChannelEvent => ({ type: 'written', token: `t${i}`, by: i % 2 === 0 ? 'creator' : 'joiner' })

export const describeChannelEvents = (name: string, make: MakeEvents): void => {
  describe(`ChannelEvents conformance: ${name}`, () => {
    let pair: EventsPair
    beforeEach(async () => {
      pair = await make()
    })
    afterEach(async () => {
      await pair.close()
    })

    it('delivers an event published after subscribe resolves, from either instance', async () => {
      const id = channelId()
      const r = recorder()
      await pair.b.subscribe(id, r.listener)
      await pair.a.publish(id, { type: 'deleted', by: 'joiner' })
      await pair.b.publish(id, { type: 'attached', role: 'creator', conn: 'c1' })
      await eventually(() => r.heard.length === 2)
      expect(r.heard).toEqual([
        { type: 'deleted', by: 'joiner' },
        { type: 'attached', role: 'creator', conn: 'c1' },
      ])
    })

    it('delivers every event of a channel in publish order', async () => {
      const id = channelId()
      const r = recorder()
      await pair.b.subscribe(id, r.listener)
      const events = Array.from({ length: 100 }, (_, i) => written(i))
      for (const event of events) await pair.a.publish(id, event)
      await eventually(() => r.heard.length === events.length)
      expect(r.heard).toEqual(events)
    })

    it('delivers only to the channel published on', async () => {
      const [x, y] = [channelId(), channelId()]
      const onX = recorder()
      const onY = recorder()
      await pair.b.subscribe(x, onX.listener)
      await pair.b.subscribe(y, onY.listener)
      await pair.a.publish(x, written(1))
      await pair.a.publish(y, written(2))
      await eventually(() => onY.heard.length === 1)
      expect(onX.heard).toEqual([written(1)])
      expect(onY.heard).toEqual([written(2)])
    })

    it('delivers to every subscription, and stops for one that unsubscribed while the others still hear', async () => {
      const id = channelId()
      const first = recorder()
      const second = recorder()
      const onA = recorder()
      const stopFirst = await pair.b.subscribe(id, first.listener)
      await pair.b.subscribe(id, second.listener)
      await pair.a.subscribe(id, onA.listener)
      await pair.a.publish(id, written(1))
      await eventually(() => first.heard.length === 1 && second.heard.length === 1 && onA.heard.length === 1)
      await stopFirst()
      await stopFirst()
      await pair.a.publish(id, written(2))
      await eventually(() => second.heard.length === 2 && onA.heard.length === 2)
      expect(first.heard).toEqual([written(1)])
    })

    it('forgets a channel once nobody listens, and hears nothing on it afterwards', async () => {
      const [x, marker] = [channelId(), channelId()]
      const onX = recorder()
      const onMarker = recorder()
      const before = pair.channelCount()
      const stopX = await pair.b.subscribe(x, onX.listener)
      const stopMarker = await pair.b.subscribe(marker, onMarker.listener)
      expect(pair.channelCount()).toBe(before + 2)
      await stopX()
      await pair.a.publish(x, written(1))
      // Both channels share one connection (or one process): the marker comes after anything on x.
      await pair.a.publish(marker, written(2))
      await eventually(() => onMarker.heard.length === 1)
      expect(onX.heard).toEqual([])
      await stopMarker()
      expect(pair.channelCount()).toBe(before)
    })

    it('publishes to a channel nobody listens to', async () => {
      await expect(pair.a.publish(channelId(), written(1))).resolves.toBeUndefined()
    })
  })
}
