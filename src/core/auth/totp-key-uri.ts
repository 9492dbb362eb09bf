/**
 * The `otpauth://totp/…` key URI that authenticator apps read from a QR code at TOTP enrolment.
 *
 * The label is `<issuer>:<account>`, each part percent-encoded (spaces as `%20`, never `+`). Apps split
 * the label at its first colon, so the issuer may not contain one; the account may (a Matrix user id
 * `@alice:example.org` does), and its colon is percent-encoded so the first literal colon stays the
 * separator.
 *
 * @see https://github.com/google/google-authenticator/wiki/Key-Uri-Format
 */
import { DEFAULT_TOTP_PARAMS, type TotpParams, type TotpSecret } from './totp.ts'

/** Input of {@link totpKeyUri}. */
export interface TotpKeyUriInput {
  secret: TotpSecret
  /** Service name shown by the app, e.g. the server name. Must be non-empty and contain no colon. */
  issuer: string
  /** The user's account name, e.g. their Matrix user id. */
  account: string
  params?: TotpParams
}

/**
 * Builds the key URI. Throws a TypeError when `issuer` is empty or holds a colon (a configuration bug,
 * never user input).
 *
 * @example
 * totpKeyUri({ secret, issuer: 'Example Chat', account: '@alice:example.org' })
 * // 'otpauth://totp/Example%20Chat:%40alice%3Aexample.org?secret=…&issuer=Example%20Chat&algorithm=SHA1&digits=6&period=30'
 */
export const totpKeyUri = (input: TotpKeyUriInput): string => {
  if (input.issuer.length === 0 || input.issuer.includes(':')) {
    throw new TypeError('the TOTP issuer must be non-empty and contain no colon')
  }
  const params = input.params ?? DEFAULT_TOTP_PARAMS
  const issuer = encodeURIComponent(input.issuer)
  const label = `${issuer}:${encodeURIComponent(input.account)}`
  const query = [
    `secret=${input.secret.base32()}`,
    `issuer=${issuer}`,
    `algorithm=${params.algorithm}`,
    `digits=${params.digits}`,
    `period=${params.periodSeconds}`,
  ].join('&')
  return `otpauth://totp/${label}?${query}`
}
