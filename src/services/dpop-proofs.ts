/**
 * DPoP proof acceptance (RFC 9449), in one place for every endpoint that takes a proof: verify it
 * for the request (method, URL, `ath` of the access token), demand a fresh server nonce when the
 * operator turned nonces on (§8), check the key when the token is bound to one, and spend the proof's
 * `jti` in the counter store so that a replayed proof is refused (§11.1).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 */
import { equalConstantTime } from '../core/crypto/secrets.ts'
import { RelayError } from '../core/errors.ts'
import { currentDpopNonce, isFreshDpopNonce } from '../core/oauth/dpop-nonce.ts'
import type { Clock, CounterStore } from '../ports.ts'
import type { PlatformProofCheck } from './dpop-platform.ts'
import { replayKey, replayWindowMs, verifyDpopProof } from './dpop.ts'

/** The request a proof must be for. */
export interface ProofTarget {
  method: string
  /** The endpoint's public URL (the proof's `htu`). */
  url: string
  /** The access token presented with the proof: then `ath` must hash it. */
  accessToken?: string
  /** The thumbprint of the key the token is bound to: the proof must be by that key. */
  boundJkt?: string
  /** Demand the server nonce (when nonces are on). The authorization-server endpoints do; others do not. */
  withNonce?: boolean
}

/** The service. */
export interface DpopProofs {
  /** The `DPoP-Nonce` to send with an authorization-server answer; undefined when nonces are off. */
  currentNonce(): string | undefined
  /**
   * Accepts `proof` for `target` once: returns the key's thumbprint.
   * Errors: RelayError INVALID_DPOP_PROOF (detail says why, including a replay), DPOP_NONCE_REQUIRED.
   */
  accept(proof: string, target: ProofTarget): Promise<string>
}

const refuse = (detail: string): RelayError => new RelayError('INVALID_DPOP_PROOF', { detail })

/**
 * Builds the service. `nonceKey` (from `dpopNonceKeyOf`) turns server nonces on.
 *
 * @example
 * const jkt = await proofs.accept(c.req.header('dpop') ?? '', { method: 'POST', url, withNonce: true })
 */
export const dpopProofs = (deps: {
  counters: CounterStore
  clock: Clock
  nonceKey?: Uint8Array | undefined
  /** The platform's check (Node); without it every proof goes the portable way. */
  platform?: PlatformProofCheck | undefined
}): DpopProofs => {
  // The verification options are the same for every proof: made once.
  const options = deps.platform === undefined ? {} : { platform: deps.platform }
  return {
    currentNonce() {
      return deps.nonceKey === undefined ? undefined : currentDpopNonce(deps.nonceKey, deps.clock.now())
    },
    async accept(proof, target) {
      const now = deps.clock.now()
      const { nonceKey } = deps
      const nonce = target.withNonce === true && nonceKey !== undefined ? { nonce: (n: string) => isFreshDpopNonce(nonceKey, n, now) } : {}
      const ath = target.accessToken === undefined ? {} : { accessToken: target.accessToken }
      const { jkt, jti } = await verifyDpopProof(proof, { method: target.method, url: target.url, ...ath, ...nonce }, now, options)
      if (target.boundJkt !== undefined && !equalConstantTime(jkt, target.boundJkt)) {
        throw refuse('the DPoP proof is not by the key this token is bound to')
      }
      if ((await deps.counters.increment(replayKey(jkt, jti), replayWindowMs())) !== 1) throw refuse('this DPoP proof was already used')
      return jkt
    },
  }
}
