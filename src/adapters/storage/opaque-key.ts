/**
 * Key names that do not show the value they are derived from. Channel ids are bearer values (whoever
 * knows one can read and write the channel), so they must not appear in a key or pub/sub channel
 * name that anyone able to list keys (`SCAN`, `PUBSUB CHANNELS`, a monitoring tool) can see; nor
 * should the rate-limit counter names, which embed channel ids and client addresses.
 *
 * The name is the SHA-256 of the value, base64url, cut to 22 characters (132 bits): collisions are out
 * of reach (2^66 names for an even chance), and a plain hash is enough, no key needed: a channel id is
 * 32 characters of a random nonce and a MAC, so no one can try ids against a name. Other counter keys
 * (client addresses) can be found by hashing candidates; they are not bearer values, and hashing them
 * too keeps one rule for every counter name.
 */
import { hashSecret } from '../../core/crypto/secrets.ts'
import { boundedMemo } from '../../core/bounded-memo.ts'

/** Characters of the base64url SHA-256 kept: 22 × 6 = 132 bits. */
const KEPT_CHARS = 22

/** Names remembered at most (≈ 2 MB): cleared when full, so the map stays bounded. */
const MAX_REMEMBERED = 10_000

/**
 * A key-naming function over `digest` (the unpadded base64url SHA-256 of a text's UTF-8 bytes): the
 * portable one here, node:crypto's in the Redis adapters (`./opaque-key-node.ts`, the same names).
 * Names worked out lately are remembered: a relay request names the same channel and counters several
 * times (record, cap place, rate-limit counters). The values are already in this process's memory (the
 * request, the recognised-id set); nothing here leaves it.
 *
 * @example
 * const keyOf = opaqueKeys(hashSecret)
 */
export const opaqueKeys = (digest: (value: string) => string): ((value: string) => string) =>
  boundedMemo((value) => digest(value).slice(0, KEPT_CHARS), MAX_REMEMBERED)

/**
 * The key name standing for `value` (deterministic, one-way; never contains `{` or `}`, so it can sit
 * inside a Redis hash tag).
 *
 * @example
 * const key = `${prefix}{ch}:${opaqueKey(channelId)}`
 */
export const opaqueKey = opaqueKeys(hashSecret)

/**
 * The name of a channel's Durable Object: opaque like every other key, so a listing of objects or a
 * log of names shows no channel id. Every place that addresses the object (the store, the event
 * publisher, the Worker's WebSocket forwarding) must use this one function.
 *
 * @example
 * const stub = env.RELAY_CHANNEL.getByName(channelObjectName(id))
 */
export const channelObjectName = (id: string, prefix = ''): string => `${prefix}ch:${opaqueKey(id)}`
