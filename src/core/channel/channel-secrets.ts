/**
 * The secret half of an established MSC4108 channel: our sending and receiving keys, the check code,
 * the channel binding and the two message counters. Channel states share one instance; it is the
 * authority on the counters, so a stale state (one already used for a send or a receive) can never
 * reuse a nonce or accept a replay, the way vodozemac's methods take `&mut self`. It prints only its
 * role.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 */
import { fail, ok, type Result } from '../errors.ts'
import { openCounter, sealCounter } from './aead.ts'
import { deriveChannelBinding } from './channel-binding.ts'
import { checkCodeDigits } from './check-code.ts'
import type { Role } from './channel-state.ts'
import { deriveChannelKeys } from './kdf.ts'

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

/** Keys, check code, binding and counters of one channel, seen from one side. */
export class ChannelSecrets {
  readonly role: Role
  #sendKey: Uint8Array
  #receiveKey: Uint8Array
  readonly #checkCode: string
  readonly #channelBinding: string
  #nextSend = 0
  #nextReceive = 0
  #closed = false

  private constructor(role: Role, sendKey: Uint8Array, receiveKey: Uint8Array, checkCode: string, binding: string) {
    this.role = role
    this.#sendKey = sendKey
    this.#receiveKey = receiveKey
    this.#checkCode = checkCode
    this.#channelBinding = binding
  }

  /**
   * Derives everything from the X25519 shared secret and both public keys (G's first), for `role`:
   * S sends with EncKey_S and receives with EncKey_G, G the other way round.
   *
   * @example
   * const secrets = ChannelSecrets.derive('S', shared, gp, sp)
   */
  static derive(role: Role, sharedSecret: Uint8Array, generatorKey: Uint8Array, scannerKey: Uint8Array): ChannelSecrets {
    const keys = deriveChannelKeys(sharedSecret, generatorKey, scannerKey)
    const binding = deriveChannelBinding(sharedSecret, generatorKey, scannerKey)
    const [send, receive] = role === 'S' ? [keys.encKeyS, keys.encKeyG] : [keys.encKeyG, keys.encKeyS]
    const secrets = new ChannelSecrets(role, send, receive, checkCodeDigits(keys.checkBytes), binding)
    keys.checkBytes.fill(0)
    return secrets
  }

  /** True once {@link close} ran: every operation fails from then on. */
  get closed(): boolean {
    return this.#closed
  }

  /** The two-digit check code (only S shows it; G compares what its user types). */
  checkCode(): string {
    return this.#checkCode
  }

  /** The channel binding, unpadded base64url. */
  channelBinding(): string {
    return this.#channelBinding
  }

  /**
   * Encrypts message number `counter`, which must be the next one, and moves past it.
   * Errors: INVALID_TRANSITION when closed or `counter` is stale (its nonce is spent).
   */
  seal(counter: number, plaintext: Uint8Array): Result<Uint8Array, 'INVALID_TRANSITION'> {
    if (this.#closed) return fail('INVALID_TRANSITION', 'the channel is closed')
    if (counter !== this.#nextSend) return fail('INVALID_TRANSITION', 'stale channel state: this nonce is spent')
    const ciphertext = sealCounter(this.#sendKey, counter, plaintext)
    this.#nextSend += 1
    return ok(ciphertext)
  }

  /**
   * Decrypts message number `counter`, which must be the next expected one, without moving past it
   * (the caller checks the content, then calls {@link accept}).
   * Errors: DECRYPTION_FAILED when the tag does not verify; INVALID_TRANSITION when closed or stale.
   */
  open(counter: number, ciphertext: Uint8Array): Result<Uint8Array, 'DECRYPTION_FAILED' | 'INVALID_TRANSITION'> {
    if (this.#closed) return fail('INVALID_TRANSITION', 'the channel is closed')
    if (counter !== this.#nextReceive) {
      return fail('INVALID_TRANSITION', 'stale channel state: message already received')
    }
    const plaintext = openCounter(this.#receiveKey, counter, ciphertext)
    if (plaintext === null) return fail('DECRYPTION_FAILED', 'the message does not open with this channel')
    return ok(plaintext)
  }

  /** Moves past message number `counter` once it was opened and accepted. */
  accept(counter: number): void {
    if (this.#closed || counter !== this.#nextReceive) throw new Error('accept() out of order')
    this.#nextReceive += 1
  }

  /** Wipes the keys; the channel is unusable from then on. */
  close(): void {
    this.#sendKey.fill(0)
    this.#receiveKey.fill(0)
    this.#sendKey = new Uint8Array(0)
    this.#receiveKey = new Uint8Array(0)
    this.#closed = true
  }

  toJSON(): { kind: 'channel-secrets'; role: Role; closed: boolean } {
    return { kind: 'channel-secrets', role: this.role, closed: this.#closed }
  }

  [INSPECT](): { kind: 'channel-secrets'; role: Role; closed: boolean } {
    return this.toJSON()
  }
}
