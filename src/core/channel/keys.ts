/**
 * Ephemeral X25519 keys of the MSC4108 secure channel and the key agreement that refuses
 * non-contributory peers. A low-order public key (RFC 7748 §6.1) would pin the shared secret to a value
 * an attacker knows without any secret key, so every agreement is checked, as vodozemac's
 * `was_contributory()` does.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7748#section-6.1
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 */
import { x25519 } from '@noble/curves/ed25519.js'
import type { Random } from '../../ports.ts'
import { fail, ok, type Result } from '../errors.ts'
import { decodeBase64, encodeBase64 } from './base64.ts'

/** Length of an X25519 secret key, public key and shared secret. */
export const X25519_KEY_BYTES = 32

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

/**
 * Reads a peer's public key from base64 (padded or not, as vodozemac reads it).
 * Errors: INVALID_PARAM when it is not base64 of exactly 32 bytes.
 *
 * @example
 * const gp = parsePublicKey('B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9/AsrhtHHw')
 * if (gp.ok) gp.value.length // 32
 */
export const parsePublicKey = (text: string): Result<Uint8Array, 'INVALID_PARAM'> => {
  const bytes = decodeBase64(text)
  if (bytes === null || bytes.length !== X25519_KEY_BYTES) {
    return fail('INVALID_PARAM', 'the public key is not base64 of 32 bytes')
  }
  return ok(bytes)
}

/**
 * X25519(secretKey, theirPublicKey), refusing a non-contributory result.
 * Errors: INVALID_PARAM when the public key is not 32 bytes or is of low order (all-zero secret).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7748#section-6.1
 * @example
 * const shared = agreeX25519(ourSecret, theirPublic)
 * if (!shared.ok) abort(shared.detail) // 'non-contributory public key'
 */
export const agreeX25519 = (secretKey: Uint8Array, theirPublicKey: Uint8Array): Result<Uint8Array, 'INVALID_PARAM'> => {
  if (theirPublicKey.length !== X25519_KEY_BYTES) return fail('INVALID_PARAM', 'the public key is not 32 bytes')
  let shared: Uint8Array
  try {
    // noble refuses the known low-order points before the ladder (no timing oracle on our secret).
    shared = x25519.getSharedSecret(secretKey, theirPublicKey)
  } catch {
    // Safe: noble throws only on a low-order or malformed public key: bad input, answered as a Result.
    return fail('INVALID_PARAM', 'non-contributory public key')
  }
  // Belt and braces: the RFC's own check, on the output, without an early exit.
  let any = 0
  for (const byte of shared) any |= byte
  return any === 0 ? fail('INVALID_PARAM', 'non-contributory public key') : ok(shared)
}

/**
 * An ephemeral X25519 key pair. Prints only its public key. {@link forget} wipes the secret once the
 * channel keys are derived, so the key cannot serve a second channel.
 */
export class EphemeralKey {
  /** Our public key, unpadded standard base64 (what the QR code and the messages carry). */
  readonly publicKeyBase64: string
  readonly #publicKey: Uint8Array
  #secret: Uint8Array | null

  private constructor(secret: Uint8Array) {
    this.#secret = Uint8Array.from(secret)
    this.#publicKey = x25519.getPublicKey(this.#secret)
    this.publicKeyBase64 = encodeBase64(this.#publicKey)
  }

  /** Our public key, raw (a copy: for the QR code encoder). */
  get publicKey(): Uint8Array {
    return Uint8Array.from(this.#publicKey)
  }

  /**
   * A new key pair from 32 bytes of `random` (X25519 clamps them, so any 32 bytes are a valid key).
   *
   * @example
   * const key = EphemeralKey.generate(random)
   * key.publicKeyBase64 // 43 characters
   */
  static generate(random: Random): EphemeralKey {
    return new EphemeralKey(random.bytes(X25519_KEY_BYTES))
  }

  /** True once {@link forget} has run. */
  get forgotten(): boolean {
    return this.#secret === null
  }

  /**
   * Key agreement with `theirPublicKey`; see {@link agreeX25519}.
   * Errors: INVALID_PARAM (bad or low-order key), INVALID_TRANSITION (the secret was forgotten).
   */
  agree(theirPublicKey: Uint8Array): Result<Uint8Array, 'INVALID_PARAM' | 'INVALID_TRANSITION'> {
    if (this.#secret === null) return fail('INVALID_TRANSITION', 'the ephemeral key was already used')
    return agreeX25519(this.#secret, theirPublicKey)
  }

  /** Wipes the secret key; later agreements fail. */
  forget(): void {
    this.#secret?.fill(0)
    this.#secret = null
  }

  toJSON(): { kind: 'x25519-key'; publicKey: string } {
    return { kind: 'x25519-key', publicKey: this.publicKeyBase64 }
  }

  [INSPECT](): { kind: 'x25519-key'; publicKey: string } {
    return this.toJSON()
  }
}
