/**
 * The MSC4108 (2024) handshake as transition functions over {@link ChannelState}:
 *
 *   G: startGenerator ─► unestablished ──acceptInitiate──► established ──confirmCheckCode──► verified
 *   S: createInitiate ─► offered ──acceptOk──► verified (shows the check code)
 *
 * Randomness comes in as the `Random` port. A message that fails to open leaves the state as it was.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 */
import type { Random } from '../../ports.ts'
import { fail, ok, type Result } from '../errors.ts'
import { encodeBase64 } from './base64.ts'
import { ChannelSecrets } from './channel-secrets.ts'
import {
  makeState,
  type ChannelState,
  type EstablishedState,
  type OfferedState,
  type UnestablishedState,
  type VerifiedGenerator,
  type VerifiedScanner,
} from './channel-state.ts'
import { checkCodesMatch, parseEnteredCheckCode } from './check-code.ts'
import { EphemeralKey, parsePublicKey } from './keys.ts'
import {
  LOGIN_INITIATE_TEXT,
  LOGIN_OK_TEXT,
  encodeInitiate,
  encodeSealed,
  parseInitiate,
  parseSealed,
  utf8Decode,
  utf8Encode,
} from './messages.ts'

/** A new state plus the message to send for it. */
export interface Step<T> {
  state: T
  message: string
}

const wrongState = (state: ChannelState, action: string) =>
  fail('INVALID_TRANSITION', `cannot ${action} in state ${state.kind} as ${state.role}`)

/**
 * G's first state: a fresh ephemeral key whose public half (`ourPublicKey`) goes into the QR code.
 *
 * @example
 * const g = startGenerator(random)
 * encodeQr({ publicKey: g.key.publicKey, … })
 */
export const startGenerator = (random: Random): UnestablishedState => {
  const key = EphemeralKey.generate(random)
  return makeState<UnestablishedState>({ kind: 'unestablished', role: 'G', ourPublicKey: key.publicKeyBase64, key })
}

/**
 * S, having scanned G's public key: makes its own key and the LoginInitiateMessage to PUT.
 * Errors: INVALID_PARAM when G's key is malformed or of low order (non-contributory).
 *
 * @example
 * const step = createInitiate(random, qr.publicKey)
 * if (step.ok) await rendezvous.put(step.value.message) // then wait for LoginOk
 */
export const createInitiate = (random: Random, generatorKey: Uint8Array | string): Result<Step<OfferedState>, 'INVALID_PARAM'> => {
  const gp = typeof generatorKey === 'string' ? parsePublicKey(generatorKey) : ok(generatorKey)
  if (!gp.ok) return gp
  const key = EphemeralKey.generate(random)
  const shared = key.agree(gp.value)
  if (!shared.ok) return fail('INVALID_PARAM', shared.detail)
  const secrets = ChannelSecrets.derive('S', shared.value, gp.value, key.publicKey)
  shared.value.fill(0)
  key.forget()
  const sealed = secrets.seal(0, utf8Encode(LOGIN_INITIATE_TEXT))
  if (!sealed.ok) throw new Error('a new channel refused its first nonce')
  const state = makeState<OfferedState>({
    kind: 'offered',
    role: 'S',
    ourPublicKey: key.publicKeyBase64,
    theirPublicKey: encodeBase64(gp.value),
    sent: 1,
    received: 0,
    secrets,
  })
  return ok({ state, message: encodeInitiate(sealed.value, key.publicKey) })
}

/**
 * G receives LoginInitiate: derives the channel, checks the message, and answers with LoginOk. Its
 * ephemeral key is then wiped, so one QR code serves one channel.
 * Errors: DECRYPTION_FAILED (malformed or does not open), INVALID_PARAM (S's key is of low order, or
 * the text is not MATRIX_QR_CODE_LOGIN_INITIATE), INVALID_TRANSITION (not G's unestablished state).
 *
 * @example
 * const step = acceptInitiate(g, await rendezvous.get())
 * if (step.ok) await rendezvous.put(step.value.message) // LoginOk; then ask the user for the code
 */
export const acceptInitiate = (
  state: ChannelState,
  message: string,
): Result<Step<EstablishedState>, 'DECRYPTION_FAILED' | 'INVALID_PARAM' | 'INVALID_TRANSITION'> => {
  if (state.kind !== 'unestablished') return wrongState(state, 'accept LoginInitiate')
  const parts = parseInitiate(message)
  if (!parts.ok) return parts
  const shared = state.key.agree(parts.value.publicKey)
  if (!shared.ok) return shared
  const secrets = ChannelSecrets.derive('G', shared.value, state.key.publicKey, parts.value.publicKey)
  shared.value.fill(0)
  const opened = secrets.open(0, parts.value.ciphertext)
  if (!opened.ok) {
    secrets.close()
    return opened
  }
  if (utf8Decode(opened.value) !== LOGIN_INITIATE_TEXT) {
    secrets.close()
    return fail('INVALID_PARAM', 'the first message is not MATRIX_QR_CODE_LOGIN_INITIATE')
  }
  secrets.accept(0)
  state.key.forget()
  const sealed = secrets.seal(0, utf8Encode(LOGIN_OK_TEXT))
  if (!sealed.ok) throw new Error('a new channel refused its first nonce')
  const next = makeState<EstablishedState>({
    kind: 'established',
    role: 'G',
    ourPublicKey: state.ourPublicKey,
    theirPublicKey: encodeBase64(parts.value.publicKey),
    sent: 1,
    received: 1,
    secrets,
    channelBinding: secrets.channelBinding(),
  })
  return ok({ state: next, message: encodeSealed(sealed.value) })
}

/**
 * S receives LoginOk: the channel is established and trusted; show `checkCode` to the user.
 * Errors: DECRYPTION_FAILED (malformed or does not open; the state stays usable), INVALID_PARAM (it
 * opened but is not MATRIX_QR_CODE_LOGIN_OK), INVALID_TRANSITION (not S's offered state, or stale).
 *
 * @example
 * const s = acceptOk(offered, await rendezvous.get())
 * if (s.ok) show(s.value.checkCode) // '32'
 */
export const acceptOk = (
  state: ChannelState,
  message: string,
): Result<VerifiedScanner, 'DECRYPTION_FAILED' | 'INVALID_PARAM' | 'INVALID_TRANSITION'> => {
  if (state.kind !== 'offered') return wrongState(state, 'accept LoginOk')
  const ciphertext = parseSealed(message)
  if (!ciphertext.ok) return ciphertext
  const opened = state.secrets.open(state.received, ciphertext.value)
  if (!opened.ok) return opened
  if (utf8Decode(opened.value) !== LOGIN_OK_TEXT) {
    return fail('INVALID_PARAM', 'the answer is not MATRIX_QR_CODE_LOGIN_OK')
  }
  state.secrets.accept(state.received)
  return ok(
    makeState<VerifiedScanner>({
      ...state,
      kind: 'verified',
      received: state.received + 1,
      channelBinding: state.secrets.channelBinding(),
      checkCode: state.secrets.checkCode(),
    }),
  )
}

/**
 * G's user typed the code S shows: on a match G trusts the channel. On a mismatch the channel keys are
 * wiped at once (no second guess at a two-digit code) and the caller must abort the rendezvous.
 * Errors: INVALID_PARAM (not two digits: ask again, nothing is spent), CHECK_CODE_MISMATCH (wrong code:
 * possible MITM), INVALID_TRANSITION (not G's established state, or the channel is closed).
 *
 * @example
 * const g2 = confirmCheckCode(g, '32')
 * if (!g2.ok && g2.code === 'CHECK_CODE_MISMATCH') abortChannel()
 */
export const confirmCheckCode = (
  state: ChannelState,
  entered: string,
): Result<VerifiedGenerator, 'INVALID_PARAM' | 'CHECK_CODE_MISMATCH' | 'INVALID_TRANSITION'> => {
  if (state.kind !== 'established') return wrongState(state, 'confirm the check code')
  if (state.secrets.closed) return fail('INVALID_TRANSITION', 'the channel is closed')
  const code = parseEnteredCheckCode(entered)
  if (!code.ok) return code
  if (!checkCodesMatch(state.secrets.checkCode(), code.value)) {
    state.secrets.close()
    return fail('CHECK_CODE_MISMATCH', 'the check code does not match: the channel is closed')
  }
  return ok(makeState<VerifiedGenerator>({ ...state, kind: 'verified', checkCode: null }))
}

/**
 * Ends the channel on this side: wipes the ephemeral key or the channel keys. Every later call fails.
 *
 * @example
 * closeChannel(state) // after m.login.failure, a timeout, or a check-code mismatch
 */
export const closeChannel = (state: ChannelState): void => {
  switch (state.kind) {
    case 'unestablished':
      state.key.forget()
      return
    case 'offered':
    case 'established':
    case 'verified':
      state.secrets.close()
      return
    default: {
      const unreachable: never = state
      throw new Error(`unknown channel state ${String(unreachable)}`)
    }
  }
}
