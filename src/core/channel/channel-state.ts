/**
 * The states of one side of an MSC4108 (2024) secure channel, as a tagged union:
 *
 * - G (showed the QR code): `unestablished` → (LoginInitiate received, LoginOk sent) `established`
 *   → (its user typed the right check code) `verified`.
 * - S (scanned it): (LoginInitiate sent) `offered` → (LoginOk received) `verified`. S needs no user
 *   step: it took G's key from the QR code, so a LoginOk that opens proves it talks to G.
 *
 * States are frozen values; sending or receiving returns the next one. They print (JSON and
 * `util.inspect`) as kind, role, public keys and, on S once verified, the check code: never a key.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 */
import type { ChannelSecrets } from './channel-secrets.ts'
import type { EphemeralKey } from './keys.ts'

/** G generated the QR code (its key is in it); S scanned it. */
export type Role = 'G' | 'S'

/** What a channel state prints: public fields only. */
export interface ChannelSummary {
  kind: ChannelState['kind']
  role: Role
  ourPublicKey: string
  theirPublicKey?: string
  checkCode?: string
}

interface Printable {
  toJSON(): ChannelSummary
}

/** G before any LoginInitiate: it holds its ephemeral key and shows the public half in the QR code. */
export interface UnestablishedState extends Printable {
  readonly kind: 'unestablished'
  readonly role: 'G'
  /** Unpadded standard base64 of our public key. */
  readonly ourPublicKey: string
  readonly key: EphemeralKey
}

/** Fields of every state that has channel keys. */
interface KeyedFields extends Printable {
  readonly ourPublicKey: string
  readonly theirPublicKey: string
  /** Number of messages sent so far: the counter (nonce) of the next one. */
  readonly sent: number
  /** Number of messages received so far: the counter of the next one expected. */
  readonly received: number
  readonly secrets: ChannelSecrets
}

/** S after sending LoginInitiate, waiting for LoginOk. It may not send anything else yet. */
export interface OfferedState extends KeyedFields {
  readonly kind: 'offered'
  readonly role: 'S'
}

/** G after answering LoginOk: it may talk, but trusts the channel only once the check code matches. */
export interface EstablishedState extends KeyedFields {
  readonly kind: 'established'
  readonly role: 'G'
  /** Send to the server (unpadded base64url); see `channel-binding.ts`. */
  readonly channelBinding: string
}

/** G after its user typed the right check code. */
export interface VerifiedGenerator extends KeyedFields {
  readonly kind: 'verified'
  readonly role: 'G'
  readonly channelBinding: string
  /** G shows no code. */
  readonly checkCode: null
}

/** S after LoginOk opened: it trusts the channel and shows the check code to its user. */
export interface VerifiedScanner extends KeyedFields {
  readonly kind: 'verified'
  readonly role: 'S'
  readonly channelBinding: string
  /** Two digits to show, e.g. '07'. */
  readonly checkCode: string
}

/** A side that trusts the channel. */
export type VerifiedState = VerifiedGenerator | VerifiedScanner

/** Every state of one side of the channel. */
export type ChannelState = UnestablishedState | OfferedState | EstablishedState | VerifiedState

/** The states that may send and receive application messages. */
export type OpenState = EstablishedState | VerifiedState

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

/** The public fields of `state`. */
export const summarizeChannel = (state: ChannelState): ChannelSummary => {
  const base = { kind: state.kind, role: state.role, ourPublicKey: state.ourPublicKey }
  switch (state.kind) {
    case 'unestablished':
      return base
    case 'offered':
    case 'established':
      return { ...base, theirPublicKey: state.theirPublicKey }
    case 'verified':
      return state.checkCode === null
        ? { ...base, theirPublicKey: state.theirPublicKey }
        : { ...base, theirPublicKey: state.theirPublicKey, checkCode: state.checkCode }
    default: {
      const unreachable: never = state
      throw new Error(`unknown channel state ${String(unreachable)}`)
    }
  }
}

type Fields<T> = Omit<T, 'toJSON'>

/** Freezes a state and gives it printing that shows only its public fields. */
export const makeState = <T extends ChannelState>(fields: Fields<T>): T => {
  const state = { ...fields } as T
  const describe = (): ChannelSummary => summarizeChannel(state)
  Object.defineProperty(state, 'toJSON', { value: describe, enumerable: false })
  Object.defineProperty(state, INSPECT, { value: describe, enumerable: false })
  return Object.freeze(state)
}
