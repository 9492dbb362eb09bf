/**
 * The channel-id keys of a rendezvous service, loaded once (a failed load is retried by the next
 * request), with the two things the service does with them: mint an id and recognise one.
 *
 * @see ../core/rendezvous/channel-id.ts (the id format and key rotation)
 */
import { isMintedChannelId, mintChannelId, portableHmacSha256, type ChannelIdKeys, type HmacSha256 } from '../core/rendezvous/channel-id.ts'
import type { Random } from '../ports.ts'

/** Where the keys come from: given, loaded (Redis, the Workers key object), or none (a random key). */
export type ChannelIdKeySource = ChannelIdKeys | (() => Promise<ChannelIdKeys>) | undefined

/** Recognised ids remembered at most (≈ 1 MB). */
const MAX_RECOGNISED = 10_000

/** Minting and recognising channel ids. */
export interface ChannelIds {
  mint(): Promise<string>
  /** True when this deployment minted `id`; false for anything made up. */
  isMinted(id: string): Promise<boolean>
  /** `mint`, at once; undefined (nothing drawn) while keys that are loaded from elsewhere have not arrived. */
  mintNow(): string | undefined
  /** `isMinted`, at once; undefined while keys that are loaded from elsewhere have not arrived. */
  isMintedNow(id: string): boolean | undefined
}

/**
 * Builds the id helper. Without a source the key is random to this instance (one memory process).
 * `mac` computes the tags: the portable one by default, node:crypto's on Node (same bytes).
 *
 * @example
 * const ids = channelIds(deps.channelIdKeys, random)
 * if (!(await ids.isMinted(id))) throw new RelayError('NOT_FOUND')
 */
export const channelIds = (source: ChannelIdKeySource, random: Random, mac: HmacSha256 = portableHmacSha256): ChannelIds => {
  let keys: Promise<ChannelIdKeys> | undefined
  // The keys once known: given ones (or this instance's random key, drawn on first use) at once,
  // loaded ones when their load has succeeded.
  let known: ChannelIdKeys | undefined
  const knownNow = (): ChannelIdKeys | undefined => {
    if (known === undefined && typeof source !== 'function') known = source ?? [random.bytes(32)]
    return known
  }
  const load = (): Promise<ChannelIdKeys> => {
    if (keys !== undefined) return keys
    if (typeof source !== 'function') {
      keys = Promise.resolve(knownNow()!)
      return keys
    }
    keys = source().then(
      (loaded) => (known = loaded),
      (error: unknown) => {
        keys = undefined
        throw error
      },
    )
    return keys
  }
  // Ids recognised lately: every WebSocket write and HTTP request of a live channel checks its id, an
  // HMAC each (the relay's hot path). Only recognised ids are kept (a made-up one is checked every
  // time); the keys never change in a process's life; bounded by emptying it when full.
  const recognised = new Set<string>()
  const remember = (id: string): void => {
    if (recognised.size >= MAX_RECOGNISED) recognised.clear()
    recognised.add(id)
  }
  const mintWith = (loaded: ChannelIdKeys): string => {
    const id = mintChannelId(loaded, random.bytes(16), mac)
    // Tagged with the first of the keys every check tries, which never change once loaded: checking
    // it would compute the same tag again. The next request on the channel (its first write) skips that.
    remember(id)
    return id
  }
  const isMintedWith = (loaded: ChannelIdKeys, id: string): boolean => {
    const minted = isMintedChannelId(loaded, id, mac)
    if (minted) remember(id)
    return minted
  }
  return {
    mint: async () => mintWith(await load()),
    isMinted: async (id) => recognised.has(id) || isMintedWith(await load(), id),
    mintNow: () => {
      const loaded = knownNow()
      return loaded === undefined ? undefined : mintWith(loaded)
    },
    isMintedNow: (id) => {
      if (recognised.has(id)) return true
      const loaded = knownNow()
      return loaded === undefined ? undefined : isMintedWith(loaded, id)
    },
  }
}
