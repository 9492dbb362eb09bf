/**
 * The DPoP-bound session a QR sign-in mints for the new device: its tokens (never printed), requests
 * with `Authorization: DPoP` and a fresh proof, and refresh-token rotation with a proof by its key.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449
 * @see ./sign-in.ts
 */
import { ClientError } from './errors.ts'
import type { DpopKey } from './dpop-key.ts'
import { dpopFormPost, type DpopNonceBox } from './dpop-post.ts'
import { answerError, describeAnswer, type LoginHttp } from './login-http.ts'
import { INSPECT } from './transport.ts'

/** The DPoP-bound session minted for the new device. `toJSON()` and inspect show no token. */
export interface DeviceSession {
  readonly accessToken: string
  readonly refreshToken: string
  readonly deviceId: string
  /** Lifetime of the access token, seconds, as of minting. */
  readonly expiresIn: number
  readonly scope: string
  readonly dpop: Pick<DpopKey, 'jkt' | 'proof'>
  /**
   * `fetch` with `Authorization: DPoP <access token>` and a fresh proof (with `ath`). `path` is a path
   * of the server (`/v1/account/whoami`) or an absolute URL of it.
   */
  authorizedFetch(path: string, init?: RequestInit): Promise<Response>
  /** Rotates the refresh token (with a proof by the session's key); the session then holds the new tokens. */
  refresh(): Promise<void>
}

/** The token endpoint's answer that mints or refreshes a session. */
export interface TokenBody {
  access_token: string
  refresh_token: string
  device_id: string
  expires_in: number
  scope?: string
}

/** True when a token endpoint's body holds a whole {@link TokenBody}. */
export const isTokenBody = (body: Record<string, unknown>): body is Record<string, unknown> & TokenBody =>
  typeof body.access_token === 'string' &&
  typeof body.refresh_token === 'string' &&
  typeof body.device_id === 'string' &&
  typeof body.expires_in === 'number'

/** The session behind {@link DeviceSession}, built from a token answer. */
export class MintedSession implements DeviceSession {
  #accessToken: string
  #refreshToken: string
  #expiresIn: number
  readonly deviceId: string
  readonly scope: string
  readonly dpop: Pick<DpopKey, 'jkt' | 'proof'>
  readonly #http: LoginHttp
  readonly #nonces: DpopNonceBox

  constructor(tokens: TokenBody, key: DpopKey, http: LoginHttp, nonces: DpopNonceBox) {
    this.#accessToken = tokens.access_token
    this.#refreshToken = tokens.refresh_token
    this.#expiresIn = tokens.expires_in
    this.deviceId = tokens.device_id
    this.scope = tokens.scope ?? ''
    this.dpop = { jkt: key.jkt, proof: (method, url, accessToken, nonce) => key.proof(method, url, accessToken, nonce) }
    this.#http = http
    this.#nonces = nonces
  }

  get accessToken(): string {
    return this.#accessToken
  }

  get refreshToken(): string {
    return this.#refreshToken
  }

  get expiresIn(): number {
    return this.#expiresIn
  }

  async authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
    const absolute = /^https?:\/\//i.test(path)
    const target = absolute ? new URL(path) : new URL(this.#http.publicUrl(path))
    const htu = `${target.origin}${target.pathname}`
    const method = (init.method ?? 'GET').toUpperCase()
    const headers = new Headers(init.headers)
    headers.set('authorization', `DPoP ${this.#accessToken}`)
    headers.set('dpop', await this.dpop.proof(method, htu, this.#accessToken))
    return this.#http.fetch(absolute ? path : this.#http.requestUrl(path), { ...init, method, headers })
  }

  async refresh(): Promise<void> {
    const answer = await dpopFormPost(this.#http, this.dpop, this.#nonces, '/oauth2/token', {
      grant_type: 'refresh_token',
      refresh_token: this.#refreshToken,
    })
    if (answer.status !== 200 || !isTokenBody(answer.body)) {
      throw answer.status === 400
        ? new ClientError('UNAUTHORIZED', { detail: `refresh: ${describeAnswer(answer)}`, status: 400 })
        : answerError(answer, 'refresh')
    }
    this.#accessToken = answer.body.access_token
    this.#refreshToken = answer.body.refresh_token
    this.#expiresIn = answer.body.expires_in
  }

  toJSON(): { deviceId: string; scope: string; jkt: string } {
    return { deviceId: this.deviceId, scope: this.scope, jkt: this.dpop.jkt }
  }

  [INSPECT](): { deviceId: string; scope: string; jkt: string } {
    return this.toJSON()
  }
}
