/**
 * The new device's waits between token polls in `signIn`: a wait that the existing device's answer
 * over the channel cuts short (an approval: poll at once; a decline: stop), and a held (long) poll
 * that an approval heard meanwhile doubles with a poll at once if it does not answer soon after.
 */
import type { ClientError } from './errors.ts'
import type { JsonAnswer } from './login-http.ts'

/** What the existing device said while the new one polls. */
export interface PeerOutcome {
  /** A decline or a failure that ends the wait early. */
  early: ClientError | null
  /** The channel went away without an outcome: one more poll tells whether the approval happened first. */
  gone: boolean
  /** The existing device said it approved: the next poll goes out at once. */
  approved: boolean
  /** Ends the current wait between polls early (set while one is under way). */
  wake: () => void
}

/**
 * A signal that aborts when either of two does (`AbortSignal.any` is not on every runtime the SDK
 * serves), and the function that stops listening to them.
 */
const eitherSignal = (a: AbortSignal, b: AbortSignal): { signal: AbortSignal; release: () => void } => {
  const both = new AbortController()
  const abort = (): void => both.abort()
  if (a.aborted || b.aborted) abort()
  a.addEventListener('abort', abort, { once: true })
  b.addEventListener('abort', abort, { once: true })
  return {
    signal: both.signal,
    release: () => {
      a.removeEventListener('abort', abort)
      b.removeEventListener('abort', abort)
    },
  }
}

/** Waits `ms` before the next poll, or less when the existing device approves meanwhile. */
export const waitBeforePoll = async (
  wait: (ms: number, signal?: AbortSignal) => Promise<void>,
  ms: number,
  stop: AbortController,
  peer: PeerOutcome,
): Promise<void> => {
  const nap = new AbortController()
  const napOrStop = eitherSignal(stop.signal, nap.signal)
  peer.wake = () => nap.abort()
  try {
    await wait(ms, napOrStop.signal)
  } catch (error) {
    if (peer.early !== null) throw peer.early
    if (!nap.signal.aborted || stop.signal.aborted) throw error
  } finally {
    peer.wake = () => {}
    napOrStop.release()
  }
}

const hasTokens = (answer: JsonAnswer): boolean => answer.status === 200 && typeof answer.body.access_token === 'string'

/**
 * How long a held poll gets to answer after the existing device said it approved, before a second
 * poll goes out beside it: beyond the server's own recheck of a held poll (500 ms), so a poll held on
 * another process than the approval answers first and the grant is not raced for (the loser of that
 * race is told `invalid_grant`, an error an operator would rightly look into).
 */
export const BESIDE_POLL_AFTER_MS = 1000

/**
 * The answer of `held` (a token poll the server may hold); if the existing device says it approved
 * while it is under way and `held` has not answered `graceMs` later, also `early()`'s (a poll at once,
 * for a server that does not hold polls), and then the one that brought tokens (the grant is redeemed
 * once, so at most one does; the other is left to finish unread), else the held one's. Errors: those
 * of the polls (the held one's when both fail).
 */
export const heldOrEarly = async (
  held: Promise<JsonAnswer>,
  peer: PeerOutcome,
  early: () => Promise<JsonAnswer>,
  graceMs = BESIDE_POLL_AFTER_MS,
): Promise<JsonAnswer> => {
  if (peer.approved) return held
  let approved: () => void = () => {}
  const heard = new Promise<null>((resolve) => (approved = () => resolve(null)))
  peer.wake = approved
  try {
    const first = await Promise.race([held, heard])
    if (first !== null) return first
  } finally {
    peer.wake = () => {}
  }
  let graceTimer: ReturnType<typeof setTimeout> | undefined
  const graceOver = new Promise<null>((resolve) => {
    graceTimer = setTimeout(() => resolve(null), graceMs)
  })
  try {
    const answered = await Promise.race([held, graceOver])
    if (answered !== null) return answered
  } finally {
    clearTimeout(graceTimer)
  }
  const second = early()
  // Safe to drop: each is awaited below, where its error is the caller's.
  held.catch(() => {})
  second.catch(() => {})
  const tokensOf = (poll: Promise<JsonAnswer>) => poll.then((answer) => (hasTokens(answer) ? answer : Promise.reject(answer)))
  try {
    return await Promise.any([tokensOf(held), tokensOf(second)])
  } catch {
    // Neither brought tokens: the held poll's answer (or error) decides.
    return held
  }
}
