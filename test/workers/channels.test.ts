/**
 * Finding 8 inside workerd: a made-up channel id creates no channel Durable Object and no counter row
 * in any shard (the Worker refuses it before any object is reached, WebSocket upgrades included).
 */
import { env } from 'cloudflare:workers'
import { listDurableObjectIds, runInDurableObject, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { madeUpIds } from '../helpers/made-up-ids.ts'

const ORIGIN = 'https://relay.example'
const PREFIXES = [
  '/_matrix/client/unstable/org.matrix.msc4108/rendezvous',
  '/_matrix/client/unstable/io.element.msc4388/rendezvous',
  '/v1/rendezvous',
]
const SHARDS = 32

/** Counter rows over every shard of the Worker's store. */
const counterRows = async (): Promise<number> => {
  let total = 0
  for (let i = 0; i < SHARDS; i++) {
    total += await runInDurableObject(env.RELAY_COUNTER.getByName(`shard:${i}`), (_instance, state) =>
      Number(state.storage.sql.exec('SELECT COUNT(*) AS n FROM counters').one().n),
    )
  }
  return total
}

describe('finding 8 on Workers: a made-up channel id costs no storage', () => {
  it('finding 8: 150 requests and upgrades for made-up ids create no channel object and no counter row', async () => {
    const rowsBefore = await counterRows()
    const objectsBefore = (await listDurableObjectIds(env.RELAY_CHANNEL)).length
    const statuses = new Set<number>()
    for (const [i, id] of madeUpIds(150).entries()) {
      const prefix = PREFIXES[i % 3] as string
      const headers: Record<string, string> = { 'CF-Connecting-IP': '203.0.113.66' }
      const upgrade = i % 3 === 2 && i % 2 === 0
      if (upgrade) headers.Upgrade = 'websocket'
      const res = await SELF.fetch(`${ORIGIN}${prefix}/${id}${upgrade ? '/ws' : ''}`, { method: i % 10 === 9 ? 'DELETE' : 'GET', headers })
      statuses.add(res.status)
      await res.body?.cancel()
    }
    expect([...statuses]).toEqual([404])
    expect((await listDurableObjectIds(env.RELAY_CHANNEL)).length).toBe(objectsBefore)
    expect(await counterRows()).toBe(rowsBefore)
  })
})
