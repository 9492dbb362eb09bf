/**
 * The existing device's end of a QR login, once its channel is open: receive the new device's
 * `io.qrelay.login.grant`, fetch the approval context and let the person decide (they are signing in
 * ANOTHER device), send the decision with THIS device's own channel binding (never one the peer
 * claims) and the peer's DPoP key thumbprint, answer a step-up (401 UIA) through the app, and tell
 * the new device the outcome over the channel.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.3
 * @see ../../docs/qr-login.md
 */
import type { DpopKey } from './dpop-key.ts'
import { ClientError } from './errors.ts'
import { answerError, describeAnswer, loginHttp, requestJson, type JsonAnswer, type LoginEndpoints, type LoginHttp } from './login-http.ts'
import { LOGIN_APPROVED, LOGIN_DECLINED, LOGIN_READY, readGrantMessage, type LoginGrantMessage } from './login-messages.ts'
import { QrScan } from './qr-scan.ts'
import type { SessionBase } from './session-base.ts'

/** Most UIA rounds one approval may take (password, then a second factor, and a retry or two). */
const MAX_STEP_UP_ROUNDS = 5

/** What the server says a person must see before deciding (`GET /v1/approvals/{user_code}`). */
export interface ApprovalContext {
  /** Always `sign_in_another_device`: this approves ANOTHER device, not this one. */
  action: string
  /** The server's sentence to show as it is. */
  message: string
  requested_device_name: string | null
  started_at: string
  expires_in: number
  new_device_networks: Array<{ seen_at: string; network: string | null }>
  proximity: { relation: string; inconsistent: boolean }
  /** The user code being decided (shown so the person can compare it with the new device's screen). */
  user_code: string
}

/** A UIA challenge (Matrix user-interactive auth): the flows that would satisfy the step-up. */
export interface StepUpChallenge {
  flows: Array<{ stages: string[] }>
  /** Stages already done in this UIA session. */
  completed: string[]
  params: Record<string, unknown>
  /** Set when the previous attempt failed (e.g. `M_FORBIDDEN`). */
  errcode?: string
}

/** Options of {@link approveSignIn}. */
export interface ApproveOptions extends LoginEndpoints {
  /** This device's access token. */
  accessToken: string
  /** This device's DPoP key, when its token is DPoP-bound (a device itself signed in by QR). */
  dpopKey?: Pick<DpopKey, 'proof'>
  /** Shows the context to the person and returns their decision (true: approve). */
  confirm(context: ApprovalContext): boolean | Promise<boolean>
  /**
   * Answers a step-up: returns the `auth` dict of one stage (e.g. `{ type: 'm.login.password',
   * identifier, password }`; the SDK adds `session`), or null to give up (the login is declined).
   */
  stepUp?(challenge: StepUpChallenge): Record<string, unknown> | null | Promise<Record<string, unknown> | null>
  /**
   * The signed ticket of the QR this device scanned (login intent), so the server knows where the
   * new device created the channel (a QR relayed from elsewhere then shows). Default: the ticket of
   * `session` when this device scanned the QR (`QrScan.channelTicket`); none when it showed it.
   */
  channelTicket?: string
  signal?: AbortSignal
  /** How long to wait for the new device's grant message. Default: until the channel expires. */
  timeoutMs?: number
}

/** How an approval ended. */
export interface ApprovalResult {
  status: 'approved' | 'declined'
  /** The context the person saw. */
  context: ApprovalContext
  /** Request-initiation verification mode: the code the person must type on the new device. */
  verificationCode?: string
}

const isContext = (body: Record<string, unknown>): boolean =>
  typeof body.action === 'string' && typeof body.message === 'string' && Array.isArray(body.new_device_networks)

/** What an authenticated account call needs of the options. */
export type AccountCallOptions = Pick<ApproveOptions, 'accessToken' | 'dpopKey' | 'signal'>

const authHeaders = async (http: LoginHttp, options: AccountCallOptions, method: string, path: string): Promise<Record<string, string>> => {
  if (options.dpopKey === undefined) return { authorization: `Bearer ${options.accessToken}` }
  const proof = await options.dpopKey.proof(method, http.publicUrl(path), options.accessToken)
  return { authorization: `DPoP ${options.accessToken}`, dpop: proof }
}

/** One JSON call with this device's token (and DPoP proof when bound). */
export const accountCall = async (
  http: LoginHttp,
  options: AccountCallOptions,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<JsonAnswer> => {
  const headers: Record<string, string> = { accept: 'application/json', ...(await authHeaders(http, options, method, path)) }
  if (body !== undefined) headers['content-type'] = 'application/json'
  return requestJson(http, path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  })
}

const call = accountCall

const failureOf = (answer: JsonAnswer, what: string): ClientError => {
  const code = answer.body.qrelay_code
  if (answer.status === 403 && code === 'POLICY_DENIED') {
    const reason = typeof answer.body.reason === 'string' ? answer.body.reason : 'policy'
    return new ClientError('POLICY_DENIED', { detail: reason, status: 403 })
  }
  if (answer.status === 404 || answer.status === 410)
    return new ClientError('GRANT_EXPIRED', { detail: `${what}: ${describeAnswer(answer)}`, status: answer.status })
  if (answer.status === 400 || answer.status === 403 || answer.status === 409) {
    return new ClientError('ACCESS_DENIED', { detail: `${what}: ${describeAnswer(answer)}`, status: answer.status })
  }
  return answerError(answer, what)
}

/** The UIA challenge of a 401 body, or null when it is none. */
export const challengeOf = (body: Record<string, unknown>): StepUpChallenge | null => {
  if (typeof body.session !== 'string' || !Array.isArray(body.flows)) return null
  const challenge: StepUpChallenge = {
    flows: body.flows as StepUpChallenge['flows'],
    completed: Array.isArray(body.completed) ? (body.completed as string[]) : [],
    params: typeof body.params === 'object' && body.params !== null ? (body.params as Record<string, unknown>) : {},
  }
  if (typeof body.errcode === 'string') challenge.errcode = body.errcode
  return challenge
}

/**
 * Approves (or declines) the new device's login through `session` (this device's end of an open
 * channel: `ExistingDevice.scanQr` after `connect`, or `ExistingDevice.showQr` after
 * `confirmCheckCode`). Call it before exchanging any other message on the channel. The channel stays
 * open: close it when done (the new device closes it too once it has its answer).
 *
 * Errors: POLICY_DENIED (the server refused; the new device was told), STEP_UP_FAILED (no or wrong
 * credentials; the login was declined), GRANT_EXPIRED, ACCESS_DENIED (a binding or key mismatch: the
 * grant is burnt), UNAUTHORIZED (this device's token), PROTOCOL_ERROR, ABORTED, CHANNEL_GONE,
 * RATE_LIMITED, CANCELLED, TRANSPORT_FAILED, INVALID_STATE.
 *
 * @example
 * const result = await approveSignIn(scan, {
 *   baseUrl, accessToken,
 *   confirm: (ctx) => window.confirm(`${ctx.message}\n${ctx.requested_device_name ?? ''}`),
 *   stepUp: async () => ({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: ask() }),
 * })
 */
export const approveSignIn = async (session: SessionBase, options: ApproveOptions): Promise<ApprovalResult> => {
  if (session.device !== 'existing') throw new ClientError('INVALID_STATE', { detail: 'approveSignIn runs on the existing device' })
  if (session.status !== 'open') throw new ClientError('INVALID_STATE', { detail: `cannot approve while ${session.status}` })
  const http = loginHttp(options)
  const receiveOptions = {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  }
  // The scanner speaks first after the handshake: hand the turn to the new device.
  if (session.role === 'S') await session.send({ type: LOGIN_READY })
  const message = await session.receive(receiveOptions)
  let grant: LoginGrantMessage
  try {
    grant = readGrantMessage(message)
  } catch (error) {
    // Safe to drop: the grant's error is what the caller must see; an unaborted channel expires on its own.
    await session.abort('protocol_error').catch(() => {})
    throw error
  }
  // Our own binding, derived from our own ECDH: a peer cannot choose it.
  const channelBinding = session.channelBinding
  const path = `/v1/approvals/${encodeURIComponent(grant.user_code)}`

  const tell = async (status: 'approved' | 'declined', reason?: string): Promise<void> => {
    // Safe to drop: a courtesy to the new device; the server's decision is what counts, and it polls for it.
    await session
      .send(status === 'approved' ? { type: LOGIN_APPROVED } : { type: LOGIN_DECLINED, ...(reason === undefined ? {} : { reason }) })
      .catch(() => {})
  }

  const fetched = await call(http, options, 'GET', path)
  if (fetched.status !== 200 || !isContext(fetched.body)) {
    const error = failureOf(fetched, 'approval context')
    await tell('declined', error.code === 'POLICY_DENIED' ? 'policy_denied' : 'unavailable')
    throw error
  }
  const context = { ...(fetched.body as unknown as ApprovalContext), user_code: grant.user_code }

  const decision = (await options.confirm(context)) ? 'approve' : 'decline'
  const base: Record<string, unknown> = { decision, channel_binding: channelBinding, dpop_jkt: grant.dpop_jkt }
  const channelTicket = options.channelTicket ?? (session instanceof QrScan ? session.channelTicket : undefined)
  if (channelTicket !== undefined) base.channel_ticket = channelTicket
  let answer = await call(http, options, 'POST', path, base)
  for (let round = 0; answer.status === 401 && round < MAX_STEP_UP_ROUNDS; round++) {
    const challenge = challengeOf(answer.body)
    if (challenge === null) break
    const auth = options.stepUp === undefined ? null : await options.stepUp(challenge)
    if (auth === null) {
      // Given up: decline, so the new device stops waiting (best effort: the grant expires anyway).
      await call(http, options, 'POST', path, { ...base, decision: 'decline' }).catch(() => null)
      await tell('declined', 'step_up_abandoned')
      throw new ClientError('STEP_UP_FAILED', { detail: 'the server asked for a step-up and none was given', status: 401 })
    }
    answer = await call(http, options, 'POST', path, { ...base, auth: { ...auth, session: answer.body.session } })
  }
  if (answer.status === 401 && challengeOf(answer.body) !== null) {
    // Best effort, as above: the step-up error is what the caller must see.
    await call(http, options, 'POST', path, { ...base, decision: 'decline' }).catch(() => null)
    await tell('declined', 'step_up_failed')
    throw new ClientError('STEP_UP_FAILED', { detail: `the step-up did not succeed in ${MAX_STEP_UP_ROUNDS} rounds`, status: 401 })
  }
  if (answer.status !== 200) {
    const error = failureOf(answer, 'approval')
    await tell('declined', error.code === 'POLICY_DENIED' ? 'policy_denied' : 'refused')
    throw error
  }
  const status = answer.body.status === 'approved' ? 'approved' : 'declined'
  await tell(status, status === 'declined' ? 'user_declined' : undefined)
  const result: ApprovalResult = { status, context }
  if (typeof answer.body.verification_code === 'string') result.verificationCode = answer.body.verification_code
  return result
}
