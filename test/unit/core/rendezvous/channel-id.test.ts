import { describe, expect, it } from 'vitest'
import { channelIdKeysOf, CHANNEL_ID_LENGTH, isMintedChannelId, mintChannelId } from '../../../../src/core/rendezvous/channel-id.ts'

const OLD = new Uint8Array(32).fill(1)
const NEW = new Uint8Array(32).fill(2)
const nonce = (n: number): Uint8Array => new Uint8Array(16).fill(n)

describe('channel ids', () => {
  it('mints 32 characters of the opaque-identifier grammar that verify under their key', () => {
    const id = mintChannelId([OLD], nonce(7))
    expect(id).toMatch(/^[0-9A-Za-z\-._~]+$/)
    expect(id).toHaveLength(CHANNEL_ID_LENGTH)
    expect(isMintedChannelId([OLD], id)).toBe(true)
    expect(isMintedChannelId([NEW], id)).toBe(false)
  })

  it('verifies under any listed key while minting with the first (rotation)', () => {
    const old = mintChannelId([OLD], nonce(3))
    const rotated = [NEW, OLD] as const
    expect(isMintedChannelId(rotated, old)).toBe(true)
    expect(isMintedChannelId([OLD], mintChannelId(rotated, nonce(3)))).toBe(false)
  })

  it('refuses a changed character, another length and text that is not base64url', () => {
    const id = mintChannelId([OLD], nonce(9))
    const flipped = `${id.slice(0, 5)}${id[5] === 'A' ? 'B' : 'A'}${id.slice(6)}`
    expect(isMintedChannelId([OLD], flipped)).toBe(false)
    expect(isMintedChannelId([OLD], id.slice(0, 22))).toBe(false)
    expect(isMintedChannelId([OLD], `${id}A`)).toBe(false)
    expect(isMintedChannelId([OLD], '~'.repeat(32))).toBe(false)
  })

  it('reads configured hex keys, the first minting', () => {
    expect(channelIdKeysOf([])).toBeUndefined()
    const keys = channelIdKeysOf(['02'.repeat(32), '01'.repeat(32)])
    expect(keys?.[0]).toEqual(NEW)
    expect(keys?.[1]).toEqual(OLD)
  })
})
