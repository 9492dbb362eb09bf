/**
 * When a failed webhook delivery is tried again: exponential backoff from `baseMs`, doubled per
 * attempt and capped at `maxMs`, minus a random part of up to `jitterRatio` of it so that retries of
 * many messages (or processes) spread out instead of arriving together.
 *
 * @see https://aws.amazon.com/builders-library/timeouts-retries-and-backoff-with-jitter/
 */
import type { Random } from '../../ports.ts'

/** The retry schedule. */
export interface BackoffPolicy {
  /** Delay before the second attempt (before jitter). */
  baseMs: number
  /** No delay is longer than this. */
  maxMs: number
  /** Fraction of the delay that jitter may take away, in [0, 1). */
  jitterRatio: number
}

/**
 * The delay after failed attempt number `attempt` (1 for the first), with `jitter` in [0, 1):
 * `c − ⌊c · jitterRatio · jitter⌋` with `c = min(maxMs, baseMs · 2^(attempt−1))`. For a fixed jitter
 * it never decreases with `attempt`, it is at most `maxMs`, and at least `(1 − jitterRatio)` of the
 * unjittered delay.
 *
 * @example
 * retryDelayMs({ baseMs: 1000, maxMs: 60_000, jitterRatio: 0.25 }, 3, 0) // 4000
 */
export const retryDelayMs = (policy: BackoffPolicy, attempt: number, jitter: number): number => {
  const exponent = Math.min(Math.max(attempt - 1, 0), 52)
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent)
  const clamped = Math.min(Math.max(jitter, 0), 1)
  // The jitter is taken off in whole ms, rounded down: `1 − ratio·jitter` computed in floating point
  // could round a 1 ms delay down to 0 (found by the property test).
  return ceiling - Math.floor(ceiling * policy.jitterRatio * clamped)
}

/**
 * A uniform jitter in [0, 1) from 32 random bits.
 *
 * @example
 * retryDelayMs(policy, attempts, jitterFrom(random))
 */
export const jitterFrom = (random: Random): number => {
  const b = random.bytes(4)
  const bits = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0
  return bits / 2 ** 32
}

/** What happens to a message after a failed attempt. */
export type AfterFailure = { kind: 'retry'; atMs: number } | { kind: 'dead' }

/**
 * Retry later, or give up once `attempts` reached `maxAttempts`.
 *
 * @example
 * afterFailure(policy, 2, 5, now, 0.5) // { kind: 'retry', atMs: now + … }
 */
export const afterFailure = (policy: BackoffPolicy, attempts: number, maxAttempts: number, nowMs: number, jitter: number): AfterFailure =>
  attempts >= maxAttempts ? { kind: 'dead' } : { kind: 'retry', atMs: nowMs + retryDelayMs(policy, attempts, jitter) }
