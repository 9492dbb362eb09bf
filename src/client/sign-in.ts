/**
 * The new device's end of a QR login, once its channel is open (check code confirmed on whichever
 * device showed the QR): make a DPoP key and ask for a device authorization grant with the channel
 * binding (RFC 8628 + RFC 9449) while the existing device's turn-over travels, send
 * `io.qrelay.login.grant` to the existing device over the secure channel, then poll the token
 * endpoint while listening on the channel. The first poll goes out at once as a long poll (`Prefer:
 * wait=<interval>`, RFC 7240): a server that holds it answers the moment the grant is decided, and the
 * next poll waits only what is left of the interval; a server that does not hold it gets polls at its
 * `interval` (slower after `slow_down`, never faster, never past `expires_in`). A decline over the
 * channel stops it at once; an approval is collected at once (the poll after
 * `io.qrelay.login.approved` does not wait: the one early poll).
 * Returns the DPoP-bound session.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.4
 * @see https://www.rfc-editor.org/rfc/rfc9449
 * @see ../../docs/qr-login.md
 */
import { ClientError, isClientError } from './errors.ts'
import { generateDpopKey, type DpopAlgorithm, type DpopKey } from './dpop-key.ts'
import { dpopFormPost, type DpopNonceBox } from './dpop-post.ts'
import { isTokenBody, MintedSession, type DeviceSession } from './device-session.ts'
import { answerError, describeAnswer, loginHttp, type JsonAnswer, type LoginEndpoints, type LoginHttp } from './login-http.ts'
import { LOGIN_APPROVED, LOGIN_GRANT, readOutcomeMessage, readReadyMessage } from './login-messages.ts'
import { sleep as platformSleep, systemNow, throwIfCancelled } from './platform.ts'
import { heldOrEarly, waitBeforePoll, type PeerOutcome } from './poll-wait.ts'
import type { SessionBase } from './session-base.ts'

export type { DeviceSession } from './device-session.ts'

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
/** RFC 8628 §3.5: slow_down adds 5 s when the server names no interval. */
const SLOW_DOWN_STEP_MS = 5_000

/** A step of the sign-in, for an app's progress display. Holds no secret (the user code is shown to people anyway). */
export type SignInStep =
  | { step: 'dpop_key'; jkt: string }
  | { step: 'grant_requested'; userCode: string; expiresIn: number; interval: number }
  | { step: 'grant_sent' }
  | { step: 'poll'; answer: 'authorization_pending' | 'slow_down'; intervalSeconds: number }
  | { step: 'approved_by_peer' }
  | { step: 'session_minted'; deviceId: string }

/** Options of {@link signIn}. */
export interface SignInOptions extends LoginEndpoints {
  /** The name the new device asks for (shown to the approver). */
  deviceName?: string
  /** Default ES256. */
  dpopAlgorithm?: DpopAlgorithm
  /** A DPoP key the app made itself (e.g. stored in IndexedDB); default a fresh non-extractable key. */
  dpopKey?: DpopKey
  /** Clock, in ms (proof `iat`, the `expires_in` bound). Default `Date.now`. */
  now?: () => number
  /** Waits between polls. Default a timer; tests pass their own. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  signal?: AbortSignal
  /** Called at each step. */
  onStep?: (step: SignInStep) => void
  /** Close the channel once the other device approved (while the tokens are fetched) or once refused. Default true. */
  closeChannel?: boolean
}

/** What the grant endpoint handed out. */
interface GrantCodes {
  deviceCode: string
  userCode: string
  expiresIn: number
  interval: number
  /** When the answer came, by this device's clock (the `expires_in` bound counts from it). */
  atMs: number
}

const requestGrant = async (
  http: LoginHttp,
  key: DpopKey,
  nonces: DpopNonceBox,
  binding: string,
  deviceName: string | undefined,
  now: () => number,
  signal?: AbortSignal,
): Promise<GrantCodes> => {
  const fields: Record<string, string> = { channel_binding: binding }
  if (deviceName !== undefined) fields.device_name = deviceName
  const answer = await dpopFormPost(http, key, nonces, '/oauth2/device_authorization', fields, signal)
  const b = answer.body
  if (answer.status === 200 && typeof b.device_code === 'string' && typeof b.user_code === 'string' && typeof b.expires_in === 'number') {
    return {
      deviceCode: b.device_code,
      userCode: b.user_code,
      expiresIn: b.expires_in,
      interval: typeof b.interval === 'number' ? b.interval : 5,
      atMs: now(),
    }
  }
  if (answer.status === 400)
    throw new ClientError('UNAUTHORIZED', { detail: `device authorization: ${describeAnswer(answer)}`, status: 400 })
  if (answer.status === 403)
    throw new ClientError('POLICY_DENIED', { detail: `device authorization: ${describeAnswer(answer)}`, status: 403 })
  throw answerError(answer, 'device authorization')
}

/** Receives the existing device's outcome into `peer`; a decline or a failure aborts `stop`. */
const watchPeer = async (
  session: SessionBase,
  stop: AbortController,
  onStep: (step: SignInStep) => void,
  peer: PeerOutcome,
): Promise<void> => {
  try {
    const outcome = readOutcomeMessage(await session.receive({ signal: stop.signal }))
    if (outcome.type === LOGIN_APPROVED) {
      onStep({ step: 'approved_by_peer' })
      peer.approved = true
      peer.wake()
      return
    }
    peer.early = new ClientError('ACCESS_DENIED', {
      detail: `the other device declined${outcome.reason === undefined ? '' : ` (${outcome.reason})`}`,
    })
  } catch (error) {
    // Gone or expired: the peer may have closed after answering (its approval is then already
    // recorded), so the next poll has the last word. Over HTTP an abort also looks gone.
    if (isClientError(error, 'CHANNEL_GONE') || isClientError(error, 'CHANNEL_EXPIRED')) {
      peer.gone = true
      return
    }
    if (!isClientError(error) || ['CANCELLED', 'TRANSPORT_FAILED'].includes(error.code)) return
    peer.early = error
  }
  stop.abort()
}

/**
 * The polling interval after a refused poll (longer after `slow_down` or a 429); throws on an answer
 * that ends the sign-in (ACCESS_DENIED, GRANT_EXPIRED, CHANNEL_GONE, UNAUTHORIZED, and answerError's).
 */
const intervalAfter = (answer: JsonAnswer, intervalMs: number, goneBeforePoll: boolean, onStep: (step: SignInStep) => void): number => {
  const error = answer.body.error
  if (error === 'authorization_pending') {
    if (goneBeforePoll) throw new ClientError('CHANNEL_GONE', { detail: 'the other device left the channel without approving' })
    onStep({ step: 'poll', answer: 'authorization_pending', intervalSeconds: intervalMs / 1000 })
    return intervalMs
  }
  if (error === 'slow_down') {
    const told = answer.body.interval
    const slower = Math.max(intervalMs + SLOW_DOWN_STEP_MS, typeof told === 'number' ? told * 1000 : 0)
    onStep({ step: 'poll', answer: 'slow_down', intervalSeconds: slower / 1000 })
    return slower
  }
  // Rate limited, or the server's store briefly unreachable (nothing was redeemed): poll again.
  if (answer.status === 429 || answer.status === 503) return Math.max(intervalMs, answer.retryAfterMs ?? intervalMs + SLOW_DOWN_STEP_MS)
  if (error === 'access_denied') throw new ClientError('ACCESS_DENIED', { detail: 'the sign-in was declined', status: answer.status })
  if (error === 'expired_token') {
    throw new ClientError('GRANT_EXPIRED', { detail: 'the grant expired before it was approved', status: answer.status })
  }
  throw answer.status === 400
    ? new ClientError('UNAUTHORIZED', { detail: `token: ${describeAnswer(answer)}`, status: 400 })
    : answerError(answer, 'token')
}

/** The login's DPoP key (the app's own, or a fresh one), then the grant it asks: started now, awaited later. */
const startKeyAndGrant = (
  options: SignInOptions,
  now: () => number,
  onStep: (step: SignInStep) => void,
  ask: (key: DpopKey) => Promise<GrantCodes>,
): Promise<{ key: DpopKey; grant: GrantCodes }> => {
  const keyMade =
    options.dpopKey === undefined
      ? generateDpopKey({ now, ...(options.dpopAlgorithm === undefined ? {} : { algorithm: options.dpopAlgorithm }) })
      : Promise.resolve(options.dpopKey)
  const made = keyMade.then(async (key) => {
    onStep({ step: 'dpop_key', jkt: key.jkt })
    return { key, grant: await ask(key) }
  })
  // Safe to drop here: the caller awaits the same promise, where its error is the caller's.
  made.catch(() => {})
  return made
}

/**
 * Signs the new device in through `session` (its end of an open channel: `NewDevice.showQr` after
 * `confirmCheckCode`, or `NewDevice.scanQr` after `connect`). Call it before exchanging any other
 * message on the channel.
 *
 * Errors: ACCESS_DENIED (declined by the person or the server), GRANT_EXPIRED, ABORTED or
 * CHANNEL_GONE (the other device abandoned the channel, e.g. a check-code mismatch, without approving), POLICY_DENIED, UNAUTHORIZED (a proof or
 * grant refused), RATE_LIMITED, PROTOCOL_ERROR, CANCELLED, TRANSPORT_FAILED, INVALID_STATE.
 *
 * @example
 * const shown = await NewDevice.showQr({ baseUrl })
 * await shown.waitForPeer(); await shown.confirmCheckCode(typed)
 * const login = await signIn(shown, { baseUrl, deviceName: 'Kitchen TV' })
 * const me = await (await login.authorizedFetch('/v1/account/whoami')).json()
 */
export const signIn = async (session: SessionBase, options: SignInOptions): Promise<DeviceSession> => {
  if (session.device !== 'new') throw new ClientError('INVALID_STATE', { detail: 'signIn runs on the new device' })
  if (session.status !== 'open') throw new ClientError('INVALID_STATE', { detail: `cannot sign in while ${session.status}` })
  const now = options.now ?? systemNow
  const wait = options.sleep ?? platformSleep
  const onStep = options.onStep ?? (() => {})
  const http = loginHttp(options)
  const closeAtEnd = options.closeChannel ?? true
  const stop = new AbortController()
  const onCallerAbort = (): void => stop.abort(options.signal?.reason)
  options.signal?.addEventListener('abort', onCallerAbort, { once: true })
  let listening: Promise<void> = Promise.resolve()
  let closing: Promise<void> | undefined
  try {
    throwIfCancelled(options.signal)
    // Neither the key nor the grant waits for the existing device's turn-over (only sending the grant does).
    // RFC 9449 §8: the server's last DPoP-Nonce, for every proof of this login and of its session.
    const nonces: DpopNonceBox = { value: undefined }
    const granted = startKeyAndGrant(options, now, onStep, (key) =>
      requestGrant(http, key, nonces, session.channelBinding, options.deviceName, now, stop.signal),
    )
    // The scanner speaks first after the handshake: as the QR's shower, wait for the existing device's turn-over.
    if (session.role === 'G') readReadyMessage(await session.receive({ signal: stop.signal }))
    const { key, grant } = await granted
    onStep({ step: 'grant_requested', userCode: grant.userCode, expiresIn: grant.expiresIn, interval: grant.interval })
    const deadlineMs = grant.atMs + grant.expiresIn * 1000
    await session.send({ type: LOGIN_GRANT, user_code: grant.userCode, dpop_jkt: key.jkt })
    onStep({ step: 'grant_sent' })

    // Listen for the existing device's outcome while polling: a decline or an abort ends the wait early.
    const peer: PeerOutcome = { early: null, gone: false, approved: false, wake: () => {} }
    listening = watchPeer(session, stop, onStep, peer)

    let intervalMs = grant.interval * 1000
    // Once approved, one poll goes out without waiting; any later one waits the interval again
    // (e.g. while the initiation code is still to be typed on this device).
    let earlyPollLeft = true
    // The first poll goes out at once, as a long poll (`Prefer: wait`): a server that holds it
    // answers the moment the grant is decided. Later polls wait what is left of the interval.
    let waitMs = 0
    for (;;) {
      if (!(peer.approved && earlyPollLeft) && waitMs > 0) {
        await waitBeforePoll(wait, Math.min(waitMs, Math.max(0, deadlineMs - now())), stop, peer)
      }
      // Approved: the channel has done its work, so it closes while the token poll is under way.
      if (peer.approved && earlyPollLeft && closeAtEnd) closing = session.close().catch(() => {})
      if (peer.approved) earlyPollLeft = false
      if (peer.early !== null) throw peer.early
      if (now() >= deadlineMs) throw new ClientError('GRANT_EXPIRED', { detail: 'the grant expired before it was approved' })
      const goneBeforePoll = peer.gone
      const polledAt = now()
      const fields = { grant_type: DEVICE_CODE_GRANT, device_code: grant.deviceCode }
      const prefer = { prefer: `wait=${Math.ceil(intervalMs / 1000)}` }
      const tokenPoll = () => dpopFormPost(http, key, nonces, '/oauth2/token', fields, stop.signal, prefer)
      // Approved while this poll is held: it answers at once on the process that saw the approval, or
      // within its recheck on another; past that (a server that does not hold polls), one poll beside
      // it, and the grant is redeemed once, by whichever of the two gets there first.
      const answer = await heldOrEarly(tokenPoll(), peer, () => {
        earlyPollLeft = false
        if (closeAtEnd) closing ??= session.close().catch(() => {})
        return tokenPoll()
      }).catch((error: unknown) => {
        throw peer.early ?? error
      })
      if (answer.status === 200 && isTokenBody(answer.body)) {
        onStep({ step: 'session_minted', deviceId: answer.body.device_id })
        return new MintedSession(answer.body, key, http, nonces)
      }
      const error = answer.body.error
      // A held (long) poll already spent its wait; any other answer waits the whole interval.
      const held = error === 'authorization_pending' && answer.preferenceApplied?.startsWith('wait=') === true
      intervalMs = intervalAfter(answer, intervalMs, goneBeforePoll, onStep)
      waitMs = held ? Math.max(0, polledAt + intervalMs - now()) : intervalMs
    }
  } finally {
    options.signal?.removeEventListener('abort', onCallerAbort)
    stop.abort()
    await listening
    // Safe to drop: the outcome is decided; a channel left open expires on its own.
    if (closeAtEnd) await (closing ?? session.close().catch(() => {}))
  }
}
