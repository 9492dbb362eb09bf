/**
 * qrelay's channel binding: a value both ends derive from the same X25519 shared secret, under a label
 * of its own (never the encryption keys), and hand to the server, which mints a session only when the
 * two values are equal. Anyone who substitutes a public key in between ends up with two different
 * shared secrets, so two different bindings: the server sees the MITM even when no user compares codes.
 * The value reveals nothing about the channel keys (HKDF outputs under distinct info strings are
 * independent), so it may travel outside the channel.
 *
 * @see DESIGN.md, "The server's part in the channel" (ECDH channel confirmation)
 */
import { base64urlnopad } from '../encoding/radix.ts'
import { equalConstantTime } from '../crypto/secrets.ts'
import { channelInfo, hkdfSha512 } from './kdf.ts'

/** The HKDF label of the binding; the info string is `<label>|<b64 Gp>|<b64 Sp>`. */
export const CHANNEL_BINDING_LABEL = 'QRELAY_CHANNEL_BINDING'

/** Length of the binding before encoding. */
export const CHANNEL_BINDING_BYTES = 32

/**
 * The channel binding: HKDF-SHA-512 (no salt) of the shared secret, 32 bytes, unpadded base64url.
 *
 * @example
 * const binding = deriveChannelBinding(shared, gp, sp) // 43 characters of [A-Za-z0-9_-]
 */
export const deriveChannelBinding = (sharedSecret: Uint8Array, generatorKey: Uint8Array, scannerKey: Uint8Array): string =>
  base64urlnopad.encode(hkdfSha512(sharedSecret, channelInfo(CHANNEL_BINDING_LABEL, generatorKey, scannerKey), CHANNEL_BINDING_BYTES))

/**
 * True when the two ends' bindings are equal, compared in time that depends only on their lengths.
 *
 * @example
 * channelBindingsMatch(fromNewDevice, fromApprover) // false: someone swapped a key
 */
export const channelBindingsMatch = (a: string, b: string): boolean => equalConstantTime(a, b)
