import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { redisChannelEvents } from '../../../src/adapters/pubsub/redis.ts'
import { opaqueKey } from '../../../src/adapters/storage/opaque-key.ts'
import { redisClient, redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { describeChannelEvents, eventually, recorder } from './events-conformance.ts'

/** Two adapters on two clients (as two processes), one key prefix. */
const makePair = (connectionName?: string) => {
  const keyPrefix = uniquePrefix('events')
  const clients = [0, 1].map(
    () => new Redis(redisUrl() as string, { maxRetriesPerRequest: 2, ...(connectionName ? { connectionName } : {}) }),
  )
  const [a, b] = clients.map((client) => redisChannelEvents({ client, keyPrefix })) as [
    ReturnType<typeof redisChannelEvents>,
    ReturnType<typeof redisChannelEvents>,
  ]
  return {
    a,
    b,
    keyPrefix,
    channelCount: () => a.channelCount() + b.channelCount(),
    close: async () => {
      await Promise.all([a.close(), b.close()])
      await Promise.all(clients.map((client) => client.quit()))
    },
  }
}

if (redisUrl() === null) {
  describe.skip('ChannelEvents conformance: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describeChannelEvents('redis', () => makePair())

  describe('redisChannelEvents', () => {
    it('ignores a malformed message on a channel and delivers the next good one', async () => {
      const pair = makePair()
      const raw = redisClient()
      try {
        const r = recorder()
        await pair.b.subscribe('m1', r.listener)
        await raw.publish(`${pair.keyPrefix}ev:{${opaqueKey('m1')}}`, '{"type":"written","data":"payload"}')
        await raw.publish(`${pair.keyPrefix}ev:{${opaqueKey('m1')}}`, 'garbage')
        await pair.a.publish('m1', { type: 'deleted', by: 'creator' })
        await eventually(() => r.heard.length > 0)
        expect(r.heard).toEqual([{ type: 'deleted', by: 'creator' }])
      } finally {
        await raw.quit()
        await pair.close()
      }
    })

    it('opens no subscriber connection before the first subscribe', async () => {
      const name = `evlazy-${process.pid}-${Date.now()}`
      const pair = makePair(name)
      const admin = redisClient()
      try {
        await pair.a.publish('x', { type: 'deleted', by: 'creator' })
        const list = (await admin.client('LIST')) as string
        const ours = list.split('\n').filter((line) => line.includes(` name=${name} `))
        // Only the two publishing clients: no duplicate has connected yet.
        expect(ours).toHaveLength(2)
      } finally {
        await admin.quit()
        await pair.close()
      }
    })

    it('subscribes again after its connection drops and tells every listener to resync', async () => {
      const name = `evkill-${process.pid}-${Date.now()}`
      const pair = makePair(name)
      const admin = redisClient()
      try {
        const r = recorder()
        await pair.b.subscribe('k1', r.listener)
        const list = (await admin.client('LIST')) as string
        const subscriberIds = list
          .split('\n')
          .filter((line) => line.includes(` name=${name} `) && / sub=[1-9]/.test(line))
          .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
        expect(subscriberIds).toHaveLength(1)
        await admin.client('KILL', 'ID', subscriberIds[0] as string)
        await eventually(() => r.heard.some((s) => s.type === 'resync'))
        await pair.a.publish('k1', { type: 'deleted', by: 'joiner' })
        await eventually(() => r.heard.some((s) => s.type === 'deleted'))
        expect(r.heard).toEqual([{ type: 'resync' }, { type: 'deleted', by: 'joiner' }])
      } finally {
        await admin.quit()
        await pair.close()
      }
    })
  })
}
