/**
 * Application messages over an established MSC4108 channel (the login protocol's JSON, one message per
 * rendezvous write): each is `b64(ChaCha20-Poly1305(text))` under the sender's key and next counter.
 * Both return the next state; the state given to them is spent (a second use fails rather than reuse a
 * nonce or take a replay). A message that does not open leaves the state usable.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 */
import { fail, ok, type Result } from '../errors.ts'
import { makeState, type ChannelState, type OpenState } from './channel-state.ts'
import { encodeSealed, parseSealed, utf8Decode, utf8Encode } from './messages.ts'

/** The state after sending, and the text to write to the rendezvous. */
export interface Sent<T extends OpenState> {
  state: T
  message: string
}

/** The state after receiving, and the plaintext. */
export interface Received<T extends OpenState> {
  state: T
  plaintext: string
}

/** The states that may talk: G once established, either side once verified. */
export const canTalk = (state: ChannelState): state is OpenState => {
  switch (state.kind) {
    case 'established':
    case 'verified':
      return !state.secrets.closed
    case 'unestablished':
    case 'offered':
      return false
    default: {
      const unreachable: never = state
      throw new Error(`unknown channel state ${String(unreachable)}`)
    }
  }
}

/**
 * Encrypts `plaintext` (usually JSON text) as our next message.
 * Errors: INVALID_TRANSITION when the state may not send (unestablished, offered, closed) or is stale.
 *
 * @example
 * const sent = encryptMessage(s, JSON.stringify({ type: 'm.login.protocol_accepted' }))
 * if (sent.ok) { await rendezvous.put(sent.value.message); s = sent.value.state }
 */
export const encryptMessage = <T extends ChannelState>(state: T, plaintext: string): Result<Sent<T & OpenState>, 'INVALID_TRANSITION'> => {
  if (!canTalk(state)) return fail('INVALID_TRANSITION', `cannot send in state ${state.kind} as ${state.role}`)
  const sealed = state.secrets.seal(state.sent, utf8Encode(plaintext))
  if (!sealed.ok) return sealed
  const next = makeState<OpenState>({ ...state, sent: state.sent + 1 }) as T & OpenState
  return ok({ state: next, message: encodeSealed(sealed.value) })
}

/**
 * Opens the peer's next message.
 * Errors: DECRYPTION_FAILED (not base64, tampered, wrong key or out of order; the state stays usable),
 * INVALID_PARAM (opened but not UTF-8), INVALID_TRANSITION (the state may not receive, or is stale).
 *
 * @example
 * const got = decryptMessage(g, await rendezvous.get())
 * if (got.ok) { handle(JSON.parse(got.value.plaintext)); g = got.value.state }
 */
export const decryptMessage = <T extends ChannelState>(
  state: T,
  message: string,
): Result<Received<T & OpenState>, 'DECRYPTION_FAILED' | 'INVALID_PARAM' | 'INVALID_TRANSITION'> => {
  if (!canTalk(state)) return fail('INVALID_TRANSITION', `cannot receive in state ${state.kind} as ${state.role}`)
  const ciphertext = parseSealed(message)
  if (!ciphertext.ok) return ciphertext
  const opened = state.secrets.open(state.received, ciphertext.value)
  if (!opened.ok) return opened
  const plaintext = utf8Decode(opened.value)
  if (plaintext === null) return fail('INVALID_PARAM', 'the message is not UTF-8 text')
  state.secrets.accept(state.received)
  const next = makeState<OpenState>({ ...state, received: state.received + 1 }) as T & OpenState
  return ok({ state: next, plaintext })
}
