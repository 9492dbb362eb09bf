/**
 * Server-issued DPoP nonces (RFC 9449 §8), stateless: the nonce of a time window is an HMAC of the
 * window's index under a server key, so every process (Redis) and isolate (Workers) that holds the key
 * issues and accepts the same nonces without storing anything. A proof may carry the nonce of the
 * current window or of the previous one, so a nonce handed out just before a window ends still works.
 * Pure: the key and the time are arguments.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { equalConstantTime, toBase64Url } from '../crypto/secrets.ts'

/** Length of a nonce window: a nonce lives between one and two windows. */
export const DPOP_NONCE_WINDOW_MS = 5 * 60 * 1000

const encoder = new TextEncoder()

const nonceOf = (key: Uint8Array, window: number): string =>
  toBase64Url(hmac(sha256, key, encoder.encode(`qrelay/dpop-nonce/${window}`)).subarray(0, 18))

/**
 * The nonce to hand out at `nowMs`.
 *
 * @example
 * c.header('DPoP-Nonce', currentDpopNonce(key, clock.now()))
 */
export const currentDpopNonce = (key: Uint8Array, nowMs: number, windowMs = DPOP_NONCE_WINDOW_MS): string =>
  nonceOf(key, Math.floor(nowMs / windowMs))

/**
 * True when `nonce` is the current or the previous window's (compared in constant time).
 *
 * @example
 * if (!isFreshDpopNonce(key, payload.nonce, clock.now())) throw useDpopNonce
 */
export const isFreshDpopNonce = (key: Uint8Array, nonce: string, nowMs: number, windowMs = DPOP_NONCE_WINDOW_MS): boolean => {
  const window = Math.floor(nowMs / windowMs)
  // Both compared, whatever the first gives, so the time taken tells nothing.
  const current = equalConstantTime(nonce, nonceOf(key, window))
  const previous = equalConstantTime(nonce, nonceOf(key, window - 1))
  return current || previous
}

/** The key nonces are made with, derived from a server secret (domain-separated). */
export const dpopNonceKeyOf = (serverKey: Uint8Array): Uint8Array => hmac(sha256, serverKey, encoder.encode('qrelay/dpop-nonce-key/v1'))
