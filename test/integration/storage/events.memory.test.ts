import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memoryChannelEvents } from '../../../src/adapters/pubsub/memory.ts'
import { describeChannelEvents, recorder } from './events-conformance.ts'

describeChannelEvents('memory', () => {
  const events = memoryChannelEvents()
  return { a: events, b: events, channelCount: () => events.channelCount(), close: () => events.close() }
})

describe('memoryChannelEvents', () => {
  it('keeps delivering to the other listeners when one throws', async () => {
    const events = memoryChannelEvents()
    const r = recorder()
    await events.subscribe('c', () => {
      throw new Error('bad listener')
    })
    await events.subscribe('c', r.listener)
    await events.publish('c', { type: 'deleted', by: 'creator' })
    expect(r.heard).toEqual([{ type: 'deleted', by: 'creator' }])
  })
})

describe('memoryChannelEvents.publishNow', () => {
  it('tells every listener before it returns, in publish order', async () => {
    const events = memoryChannelEvents()
    const r1 = recorder()
    const r2 = recorder()
    await events.subscribe('c', r1.listener)
    const stop = await events.subscribe('c', r2.listener)
    events.publishNow('c', { type: 'written', token: 't1', by: 'creator' })
    events.publishNow('c', { type: 'written', token: 't2', by: 'joiner' })
    expect(r1.heard).toEqual([
      { type: 'written', token: 't1', by: 'creator' },
      { type: 'written', token: 't2', by: 'joiner' },
    ])
    expect(r2.heard).toEqual(r1.heard)
    await stop()
    events.publishNow('c', { type: 'deleted', by: 'creator' })
    expect(r1.heard).toHaveLength(3)
    expect(r2.heard).toHaveLength(2)
    events.publishNow('other', { type: 'deleted', by: 'creator' })
    expect(r1.heard).toHaveLength(3)
  })

  it('is publish without the promise: the same listeners hear the same events, whatever the subscriptions', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('subscribe' as const), channel: fc.integer({ min: 0, max: 2 }), throws: fc.boolean() }),
      fc.record({ kind: fc.constant('stop' as const), which: fc.nat() }),
      fc.record({ kind: fc.constant('publish' as const), channel: fc.integer({ min: 0, max: 2 }), token: fc.string({ maxLength: 4 }) }),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const run = async (now: boolean): Promise<string[]> => {
          const events = memoryChannelEvents()
          const heard: string[] = []
          const stops: Array<() => Promise<void>> = []
          for (const [i, o] of ops.entries()) {
            if (o.kind === 'subscribe') {
              stops.push(
                await events.subscribe(`c${o.channel}`, (signal) => {
                  if (o.throws) throw new Error('bad listener')
                  heard.push(`${i}:${JSON.stringify(signal)}`)
                }),
              )
            } else if (o.kind === 'stop') await stops[o.which % Math.max(1, stops.length)]?.()
            else {
              const event = { type: 'written', token: o.token, by: 'creator' } as const
              if (now) events.publishNow(`c${o.channel}`, event)
              else await events.publish(`c${o.channel}`, event)
            }
          }
          return heard
        }
        expect(await run(true)).toEqual(await run(false))
      }),
      { numRuns: 200 },
    )
  })
})
