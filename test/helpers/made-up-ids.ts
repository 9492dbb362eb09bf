/** Made-up channel ids for the "a forged id costs nothing" tests. */
import { mintChannelId } from '../../src/core/rendezvous/channel-id.ts'
import { seededRandom } from './seeded-random.ts'

/** `n` made-up ids: random ones of the minted shape (wrong tag), minted under another key, and odd ones. */
export const madeUpIds = (n: number): string[] => {
  const random = seededRandom(99)
  const foreign = [new Uint8Array(32).fill(42)] as const
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  return Array.from({ length: n }, (_, i) => {
    if (i % 3 === 0) return mintChannelId(foreign, random.bytes(16))
    const length = i % 3 === 1 ? 32 : 22
    return Array.from(random.bytes(length), (b) => alphabet[b % 64]).join('')
  })
}
