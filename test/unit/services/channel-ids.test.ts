/**
 * Minting and recognising channel ids: an id this process minted is recognised without computing its
 * tag again; anything else is checked against the keys.
 */
import { describe, expect, it } from 'vitest'
import { mintChannelId, portableHmacSha256, type ChannelIdKeys, type HmacSha256 } from '../../../src/core/rendezvous/channel-id.ts'
import { channelIds } from '../../../src/services/channel-ids.ts'

const random = { bytes: (n: number) => crypto.getRandomValues(new Uint8Array(n)) }
const keyA = new Uint8Array(32).fill(1)
const keyB = new Uint8Array(32).fill(2)

/** The portable HMAC, counting its calls. */
const counted = () => {
  const calls = { n: 0 }
  const mac: HmacSha256 = (key, data) => {
    calls.n++
    return portableHmacSha256(key, data)
  }
  return { calls, mac }
}

describe('channelIds', () => {
  it('recognises an id it minted without another HMAC, and keeps checking others', async () => {
    const { calls, mac } = counted()
    const ids = channelIds([keyA, keyB], random, mac)
    const id = await ids.mint()
    expect(calls.n).toBe(1)
    expect(await ids.isMinted(id)).toBe(true)
    expect(calls.n).toBe(1)
    // Minted elsewhere under a key of the list: one HMAC per key, then remembered.
    const other = mintChannelId([keyB], random.bytes(16))
    expect(await ids.isMinted(other)).toBe(true)
    expect(calls.n).toBe(3)
    expect(await ids.isMinted(other)).toBe(true)
    expect(calls.n).toBe(3)
    // Made up, or under a key not in the list: checked every time, never remembered.
    const foreign = mintChannelId([new Uint8Array(32).fill(3)], random.bytes(16))
    expect(await ids.isMinted(foreign)).toBe(false)
    expect(await ids.isMinted(foreign)).toBe(false)
    expect(calls.n).toBe(7)
    expect(await ids.isMinted('not-an-id')).toBe(false)
  })

  it('mints ids that a fresh instance with the same keys recognises', async () => {
    const keys: ChannelIdKeys = [keyA]
    const id = await channelIds(keys, random).mint()
    expect(await channelIds(keys, random).isMinted(id)).toBe(true)
    expect(await channelIds([keyB], random).isMinted(id)).toBe(false)
  })

  it('keys loaded once: a minted id is recognised after a failed first load', async () => {
    let attempts = 0
    const source = async (): Promise<ChannelIdKeys> => {
      attempts++
      if (attempts === 1) throw new Error('store down')
      return [keyA]
    }
    const ids = channelIds(source, random)
    await expect(ids.mint()).rejects.toThrow('store down')
    const id = await ids.mint()
    expect(await ids.isMinted(id)).toBe(true)
    expect(await channelIds([keyA], random).isMinted(id)).toBe(true)
    expect(attempts).toBe(2)
  })
})
