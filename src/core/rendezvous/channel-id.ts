/**
 * Self-authenticating channel ids: `base64url(nonce ‖ tag)`, 16 random bytes and the first 8 bytes of
 * HMAC-SHA-256(key, label ‖ nonce): 32 characters of the Matrix opaque-identifier grammar (≤ 255,
 * so a valid MSC4108 session path segment and MSC4388 id). The server checks the tag before it
 * touches any store, so a made-up id costs no storage: no counter, no record, no Durable Object.
 *
 * Keys: the first mints, every key verifies (rotation: add the new key first, keep the old one for
 * at least the longest channel lifetime, then drop it). The id is not a secret beyond what it always
 * was (128 random bits); the tag only proves that this deployment minted it.
 *
 * @see https://spec.matrix.org/latest/appendices/#opaque-identifiers
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { hexToBytes } from '@noble/hashes/utils.js'
import { equalBytesConstantTime, fromBase64Url, toBase64Url } from '../crypto/secrets.ts'

/** The keys of channel ids: `[current, ...previous]`, each at least 16 bytes. */
export type ChannelIdKeys = readonly [Uint8Array, ...Uint8Array[]]

const NONCE_BYTES = 16
const TAG_BYTES = 8
/** Length of a minted id in characters (24 bytes of unpadded base64url). */
export const CHANNEL_ID_LENGTH = 32
const SHAPE = /^[A-Za-z0-9_-]{32}$/
const LABEL = new TextEncoder().encode('qrelay channel id v1\0')

/** HMAC-SHA-256 (RFC 2104) of `data` under `key`, all 32 bytes. */
export type HmacSha256 = (key: Uint8Array, data: Uint8Array) => Uint8Array

/** The portable HMAC (pure JS, @noble/hashes); a Node runtime passes node:crypto's, same bytes. */
export const portableHmacSha256: HmacSha256 = (key, data) => hmac(sha256, key, data)

const tagOf = (key: Uint8Array, nonce: Uint8Array, mac: HmacSha256): Uint8Array => {
  const input = new Uint8Array(LABEL.length + nonce.length)
  input.set(LABEL)
  input.set(nonce, LABEL.length)
  return mac(key, input).subarray(0, TAG_BYTES)
}

/**
 * A new id from 16 random bytes, tagged with the current key.
 *
 * @example
 * const id = mintChannelId(keys, random.bytes(16))  // or (keys, nonce, nodeHmacSha256) on Node
 */
export const mintChannelId = (keys: ChannelIdKeys, nonce: Uint8Array, mac: HmacSha256 = portableHmacSha256): string => {
  if (nonce.length !== NONCE_BYTES) throw new Error('channel id: the nonce must be 16 bytes')
  const bytes = new Uint8Array(NONCE_BYTES + TAG_BYTES)
  bytes.set(nonce)
  bytes.set(tagOf(keys[0], nonce, mac), NONCE_BYTES)
  return toBase64Url(bytes)
}

/**
 * True when `id` was minted under one of `keys` (tags compared in constant time). Any other text,
 * including ids of the old untagged format, is false.
 */
export const isMintedChannelId = (keys: ChannelIdKeys, id: string, mac: HmacSha256 = portableHmacSha256): boolean => {
  if (!SHAPE.test(id)) return false
  let bytes: Uint8Array
  try {
    bytes = fromBase64Url(id)
  } catch {
    // Safe: the decoder throws only on text that is not base64url, which is not a minted id.
    return false
  }
  if (bytes.length !== NONCE_BYTES + TAG_BYTES) return false
  const nonce = bytes.subarray(0, NONCE_BYTES)
  const tag = bytes.subarray(NONCE_BYTES)
  let found = false
  for (const key of keys) found = equalBytesConstantTime(tagOf(key, nonce, mac), tag) || found
  return found
}

/**
 * The configured keys (hex, the first mints), or undefined when none are configured.
 *
 * @example
 * const keys = channelIdKeysOf(config.rendezvous.channelIdKeysHex) ?? generatedKeys
 */
export const channelIdKeysOf = (hex: readonly string[]): ChannelIdKeys | undefined => {
  const [first, ...rest] = hex.map((key) => hexToBytes(key))
  return first === undefined ? undefined : [first, ...rest]
}
