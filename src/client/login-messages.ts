/**
 * The messages the two devices exchange over the secure channel to finish a QR login (qrelay's own
 * namespace, encrypted end to end; the relay never reads them). After the MSC4108 handshake the
 * scanner speaks first and the two take turns:
 *
 * | intent | 1st | 2nd | 3rd |
 * |---|---|---|---|
 * | the new device shows the QR | existing → `io.qrelay.login.ready` | new → `io.qrelay.login.grant` | existing → `approved` / `declined` |
 * | the existing device shows it | new → `io.qrelay.login.grant` | existing → `approved` / `declined` | – |
 *
 * @see ../../docs/qr-login.md
 */
import { ClientError } from './errors.ts'

/** The existing device, speaking first as the scanner, hands the turn to the new device. */
export const LOGIN_READY = 'io.qrelay.login.ready'
/** The new device asks the existing one to approve its grant. */
export const LOGIN_GRANT = 'io.qrelay.login.grant'
/** The existing device approved: the new device's next poll gets its tokens. */
export const LOGIN_APPROVED = 'io.qrelay.login.approved'
/** The existing device (its user, or the server's policy) declined: the new device stops. */
export const LOGIN_DECLINED = 'io.qrelay.login.declined'

/** `io.qrelay.login.grant`: the user code of the new device's grant and its DPoP key thumbprint. */
export interface LoginGrantMessage {
  type: typeof LOGIN_GRANT
  user_code: string
  dpop_jkt: string
}

/** The outcome the existing device reports. `reason` is a short code, never a secret. */
export type LoginOutcomeMessage = { type: typeof LOGIN_APPROVED } | { type: typeof LOGIN_DECLINED; reason?: string }

const JKT = /^[A-Za-z0-9_-]{43}$/
const USER_CODE = /^[A-Za-z0-9-]{4,32}$/

const typeOf = (message: unknown): unknown =>
  typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined

/** Reads a grant message. Errors: PROTOCOL_ERROR. */
export const readGrantMessage = (message: unknown): LoginGrantMessage => {
  const m = message as Partial<LoginGrantMessage> | null
  if (typeOf(message) !== LOGIN_GRANT || typeof m?.user_code !== 'string' || typeof m.dpop_jkt !== 'string') {
    throw new ClientError('PROTOCOL_ERROR', { detail: `expected ${LOGIN_GRANT}` })
  }
  if (!USER_CODE.test(m.user_code) || !JKT.test(m.dpop_jkt)) {
    throw new ClientError('PROTOCOL_ERROR', { detail: `${LOGIN_GRANT} has a malformed user_code or dpop_jkt` })
  }
  return { type: LOGIN_GRANT, user_code: m.user_code, dpop_jkt: m.dpop_jkt }
}

/** Reads an outcome message. Errors: PROTOCOL_ERROR. */
export const readOutcomeMessage = (message: unknown): LoginOutcomeMessage => {
  const type = typeOf(message)
  if (type === LOGIN_APPROVED) return { type }
  if (type === LOGIN_DECLINED) {
    const reason = (message as { reason?: unknown }).reason
    return typeof reason === 'string' && /^[a-z_]{1,40}$/.test(reason) ? { type, reason } : { type }
  }
  throw new ClientError('PROTOCOL_ERROR', { detail: `expected ${LOGIN_APPROVED} or ${LOGIN_DECLINED}` })
}

/** Reads the ready message. Errors: PROTOCOL_ERROR. */
export const readReadyMessage = (message: unknown): void => {
  if (typeOf(message) !== LOGIN_READY) throw new ClientError('PROTOCOL_ERROR', { detail: `expected ${LOGIN_READY}` })
}
