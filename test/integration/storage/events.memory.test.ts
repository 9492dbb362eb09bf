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
