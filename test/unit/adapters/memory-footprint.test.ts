/**
 * Guards the memory store's footprint per pending channel (issue 15: ≤ 2 × a bare `Map` holding the same
 * id, payload, token and expiry). It measures heap, not time: the figure depends on object layout, not on
 * the machine's load. A regression of the same kind as the one this guards against (ids and tokens kept as
 * rope strings of one node per letter, about 1 KiB per channel) shows here as a ratio of 4 to 7.
 *
 * The full measurement, with the per-client counters and 100 000 to 1 000 000 channels, is
 * `bench/relay/memory.ts`.
 */
import { createHash, randomBytes } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { cryptoRandom, systemClock } from '../../../src/adapters/platform/node.ts'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { newOpaqueId, toBase64Url } from '../../../src/core/crypto/secrets.ts'
import { createChannel } from '../../../src/core/rendezvous/channel.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const N = 20_000
const TTL_MS = 120_000

/** Heap used plus ArrayBuffer backing stores, after full collections. */
const heapUsed = (): number => {
  for (let i = 0; i < 4; i++) gc()
  const { heapUsed: used, arrayBuffers } = process.memoryUsage()
  return used + arrayBuffers
}

/** Bytes per item that `fill` keeps alive. */
const perItem = async (fill: () => Promise<unknown>): Promise<number> => {
  const before = heapUsed()
  const holder = await fill()
  const after = heapUsed()
  expect(holder).not.toBeNull()
  return (after - before) / N
}

const bareMap = async (): Promise<unknown> => {
  const channels = new Map<string, { data: string; etag: string; expires: number }>()
  const now = Date.now()
  for (let i = 0; i < N; i++) {
    const id = randomBytes(16).toString('base64url')
    const etag = createHash('sha256').update(`${id}\u00000\u0000`).digest().subarray(0, 16).toString('base64url')
    channels.set(id, { data: '', etag, expires: now + TTL_MS })
  }
  return channels
}

const qrelayStore = async (): Promise<unknown> => {
  const store = memoryStore({ clock: systemClock, sweepIntervalMs: 0 })
  const now = systemClock.now()
  for (let i = 0; i < N; i++) {
    const record = createChannel({
      id: newOpaqueId(cryptoRandom),
      api: 'msc4388',
      data: '',
      now,
      ttlMs: TTL_MS,
      creatorNetwork: `198.51.${(i >>> 8) & 255}.${i & 255}`,
    })
    if ((await store.channels.create(record, N)) !== 'ok') throw new Error('create refused')
  }
  return store
}

describe('memory store footprint', () => {
  it('keeps base64url text flat: 10 000 encoded 32-byte values cost what their characters do', () => {
    const before = heapUsed()
    const kept = Array.from({ length: 10_000 }, () => toBase64Url(randomBytes(32)))
    const perValue = (heapUsed() - before) / kept.length
    // A flat one-byte string of 43 characters is about 64 B on the heap, plus its array slot.
    expect(perValue).toBeLessThan(128)
  })

  it('holds a pending channel in at most 2 x what a bare Map of the same fields holds', async () => {
    const bare = await perItem(bareMap)
    const ours = await perItem(qrelayStore)
    expect(ours / bare).toBeLessThanOrEqual(2)
  })
})
