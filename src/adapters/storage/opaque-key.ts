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

/** Characters of the base64url SHA-256 kept: 22 × 6 = 132 bits. */
const KEPT_CHARS = 22

/**
 * The key name standing for `value` (deterministic, one-way; never contains `{` or `}`, so it can sit
 * inside a Redis hash tag).
 *
 * @example
 * const key = `${prefix}{ch}:${opaqueKey(channelId)}`
 */
export const opaqueKey = (value: string): string => hashSecret(value).slice(0, KEPT_CHARS)

/**
 * The name of a channel's Durable Object: opaque like every other key, so a listing of objects or a
 * log of names shows no channel id. Every place that addresses the object (the store, the event
 * publisher, the Worker's WebSocket forwarding) must use this one function.
 *
 * @example
 * const stub = env.RELAY_CHANNEL.getByName(channelObjectName(id))
 */
export const channelObjectName = (id: string, prefix = ''): string => `${prefix}ch:${opaqueKey(id)}`
