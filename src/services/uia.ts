/**
 * User-interactive auth over the ephemeral store, driving the pure engine in `core/auth/uia.ts`:
 * sessions are stored as JSON under `uia:<id>`, every change is a compare-and-swap on the stored
 * text, and spending a complete session is one more compare-and-swap to the terminal state, so two
 * concurrent requests can never both pass. The stage checks (password, TOTP, recovery code) come from
 * the accounts and second-factor services, each only after the brute-force guard reserved the guess
 * (a right one gives it back; see `auth-failures.ts`).
 *
 * Flows are dynamic (MSC2839): every session starts with the password alone, and the second factors
 * appear once the password proved which account this is, so a stranger cannot learn who has TOTP.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/2839
 */
import {
  authEpochOf,
  isAccountUsable,
  isStillAuthorised,
  SIGN_IN_VOIDED,
  usernameKey,
  type AccountRecord,
} from '../core/accounts/records.ts'
import { RelayError } from '../core/errors.ts'
import {
  allowedNextStages,
  checkRequest,
  completeStage,
  consume,
  isComplete,
  isUiaStage,
  startSession,
  updateFlows,
  type UiaFlow,
  type UiaSession,
  type UiaStage,
} from '../core/auth/uia.ts'
import { requestBodyHash } from '../core/auth/uia-binding.ts'
import { challengeBody, type UiaChallengeBody } from '../core/auth/uia-wire.ts'
import type { Clock, KvStore, Random } from '../ports.ts'
import type { AccountsService } from './accounts.ts'
import type { RateRule } from '../core/policy/rate-limit.ts'
import type { AuthFailures } from './auth-failures.ts'
import type { DeviceTrust, TrustProof } from './device-trust.ts'
import type { PrefixLimits } from './prefix-limits.ts'
import type { SecondFactorsService } from './second-factors.ts'

/** Thrown while more stages are needed: the route answers 401 with {@link UiaChallengeError.body}. */
export class UiaChallengeError extends RelayError {
  readonly body: UiaChallengeBody
  constructor(body: UiaChallengeBody) {
    super('AUTH_STAGE_REQUIRED', { detail: 'more authentication stages are required' })
    this.body = body
  }
}

/** The request being authorized. `body` is the whole JSON body, `auth` included. */
export interface UiaRequest {
  method: string
  path: string
  body: Record<string, unknown>
  clientKey: string
  /** A `device_trust` token the client sent (see `device-trust.ts`). */
  deviceTrust?: string
  /** The device of the bearer session making the request (only with an `account` subject). */
  sessionDeviceId?: string
}

/**
 * Whose credentials the stages check: an account known from the bearer token, a username typed at
 * login (the account may not exist), or nobody (registration: the dummy stage only).
 */
export type UiaSubject = { kind: 'account'; account: AccountRecord } | { kind: 'username'; username: string } | { kind: 'anyone' }

/** What the UIA service needs. */
export interface UiaDeps {
  kv: KvStore
  clock: Clock
  random: Random
  /** Key of the request-binding HMAC. */
  bindingKey: Uint8Array
  ttlMs: number
  accounts: AccountsService
  secondFactors: SecondFactorsService
  failures: AuthFailures
  trust: DeviceTrust
  /**
   * New sessions per client address (and IPv6 /56 and /48): each is stored until it expires, so they
   * are counted before one is made (finding 59).
   */
  starts: { prefixes: PrefixLimits; rule: RateRule }
}

/** The UIA service. */
export interface UiaService {
  /**
   * Runs one round trip. Resolves (with the account the stages proved, if any) once a whole flow is
   * complete, spending the session; throws {@link UiaChallengeError} while stages remain (also after a
   * failed stage, with its errcode). Errors: UIA_SESSION_INVALID, UIA_STAGE_NOT_ALLOWED, MISSING_PARAM,
   * INVALID_PARAM, RATE_LIMITED, FORBIDDEN (account disabled or locked).
   */
  authorize(request: UiaRequest, subject: UiaSubject, options?: UiaOptions): Promise<AccountRecord | null>
}

/** Per-request choices of {@link UiaService.authorize}. */
export interface UiaOptions {
  /**
   * The flows to offer instead of the default ones (a step-up decided by policy, e.g. a second factor
   * only). They are used as given: no widening after the password.
   */
  flows?: readonly UiaFlow[]
}

/** What is stored: the engine's session plus the account it is about (once known). */
interface Stored {
  session: UiaSession
  accountId: string | null
  /** The account's `authEpoch` when its first stage was checked (absent before, or without an account). */
  authEpoch?: number
}

const PASSWORD_ONLY: UiaFlow[] = [{ stages: ['m.login.password'] }]
const WITH_SECOND_FACTOR: UiaFlow[] = [
  { stages: ['m.login.password', 'm.login.2fa.totp'] },
  { stages: ['m.login.password', 'm.login.2fa.recovery'] },
]
const DUMMY: UiaFlow[] = [{ stages: ['m.login.dummy'] }]

const keyOf = (id: string): string => `uia:${id}`

const readAuth = (body: Record<string, unknown>): Record<string, unknown> | undefined => {
  const auth = body.auth
  if (auth === undefined) return undefined
  if (typeof auth !== 'object' || auth === null || Array.isArray(auth)) {
    throw new RelayError('INVALID_PARAM', { detail: 'auth must be an object' })
  }
  return auth as Record<string, unknown>
}

const stringOf = (auth: Record<string, unknown>, name: string, max = 1024): string => {
  const value = auth[name]
  if (value === undefined) throw new RelayError('MISSING_PARAM', { detail: `auth.${name} is required` })
  if (typeof value !== 'string' || value.length > max) {
    throw new RelayError('INVALID_PARAM', { detail: `auth.${name} must be a string of at most ${max} characters` })
  }
  return value
}

const accountOf = async (deps: UiaDeps, subject: UiaSubject, stored: Stored): Promise<AccountRecord | null> => {
  if (subject.kind === 'account') return subject.account
  if (stored.accountId !== null) return deps.accounts.get(stored.accountId)
  if (subject.kind === 'username') return deps.accounts.findByUsername(subject.username)
  return null
}

const refuseUnusable = (account: AccountRecord, clock: Clock): void => {
  if (account.status !== 'active') throw new RelayError('FORBIDDEN', { detail: 'this account is disabled' })
  if (!isAccountUsable(account, clock.now())) {
    throw new RelayError('FORBIDDEN', { detail: 'this account is locked', retryAfterMs: account.lockedUntilMs - clock.now() })
  }
}

/** Checks one stage's credentials, within the guess budgets; null when they hold, else the public reason. */
const verify = async (
  deps: UiaDeps,
  stage: UiaStage,
  auth: Record<string, unknown>,
  subject: UiaSubject,
  account: AccountRecord | null,
  request: UiaRequest,
): Promise<string | null> => {
  if (stage === 'm.login.dummy') return null
  const accountKey = account?.id ?? (subject.kind === 'username' ? usernameKey(subject.username) : 'nobody')
  const secret = stringOf(auth, stage === 'm.login.password' ? 'password' : 'code')
  const proof: TrustProof = {
    ...(request.deviceTrust === undefined ? {} : { token: request.deviceTrust }),
    ...(subject.kind === 'account' && request.sessionDeviceId !== undefined ? { sessionDeviceId: request.sessionDeviceId } : {}),
  }
  const origin = await deps.trust.originOf(account, request.clientKey, proof)
  let problem: string | null = null
  await deps.failures.attempt({ accountKey, clientKey: request.clientKey, origin }, async () => {
    if (stage === 'm.login.password') {
      problem = (await deps.accounts.checkPassword(account, secret)).ok ? null : 'wrong username or password'
    } else if (account === null) {
      problem = 'unknown account'
    } else if (stage === 'm.login.2fa.totp') {
      const checked = await deps.secondFactors.verifyTotp(account, secret)
      problem = checked.ok ? null : checked.code === 'TOTP_REPLAYED' ? 'this code was already used' : 'wrong code'
    } else {
      problem = (await deps.secondFactors.useRecoveryCode(account, secret)).ok ? null : 'unknown or used recovery code'
    }
    return problem === null
  })
  return problem
}

/**
 * The session once `stage` is done: a password login of an account with TOTP gains the second-factor
 * flows (unless the caller chose the flows), and a complete session is spent.
 */
const advance = (deps: UiaDeps, stored: Stored, stage: UiaStage, account: AccountRecord | null, flowsChosen: boolean): Stored => {
  const done = completeStage(stored.session, stage, deps.clock.now())
  if (!done.ok) throw new RelayError(done.code, { detail: done.detail })
  let session = done.value
  if (!flowsChosen && stage === 'm.login.password' && account !== null && deps.secondFactors.hasTotp(account)) {
    const widened = updateFlows(session, WITH_SECOND_FACTOR, {})
    if (!widened.ok) throw new RelayError('INTERNAL', { detail: widened.detail })
    session = widened.value
  }
  const next: Stored = { session, accountId: account?.id ?? stored.accountId }
  if (isComplete(session)) {
    const spent = consume(session, deps.clock.now())
    if (!spent.ok) throw new RelayError('INTERNAL', { detail: spent.detail })
    next.session = spent.value
  }
  return next
}

/**
 * Builds the UIA service.
 *
 * @example
 * const account = await uia.authorize({ method: 'POST', path, body, clientKey }, { kind: 'account', account })
 */
export const uiaService = (deps: UiaDeps): UiaService => {
  const { kv, clock } = deps

  const save = async (stored: Stored): Promise<string> => {
    const json = JSON.stringify(stored)
    await kv.put(keyOf(stored.session.id), json, Math.max(1, stored.session.expiresAtMs - clock.now()))
    return json
  }

  return {
    async authorize(request, subject, options = {}) {
      const bodyHash = requestBodyHash(request.body, deps.bindingKey)
      const binding = { method: request.method, path: request.path, bodyHash }
      const auth = readAuth(request.body)
      const sessionId = auth?.session
      if (auth === undefined || sessionId === undefined) {
        await deps.starts.prefixes.consume('uia-start', request.clientKey, deps.starts.rule)
        const flows = options.flows ?? (subject.kind === 'anyone' ? DUMMY : PASSWORD_ONLY)
        const started = startSession(deps.random, clock.now(), deps.ttlMs, binding, flows, {})
        if (!started.ok) throw new RelayError('INTERNAL', { detail: started.detail })
        const accountId = subject.kind === 'account' ? subject.account.id : null
        await save({ session: started.value, accountId })
        throw new UiaChallengeError(challengeBody(started.value))
      }
      if (typeof sessionId !== 'string' || sessionId.length > 128) {
        throw new RelayError('INVALID_PARAM', { detail: 'auth.session must be a string' })
      }
      const stage = auth.type
      if (!isUiaStage(stage)) throw new RelayError('INVALID_PARAM', { detail: 'auth.type is not a known stage' })

      const json = await kv.get(keyOf(sessionId))
      if (json === null) throw new RelayError('UIA_SESSION_INVALID', { detail: 'unknown or expired UIA session' })
      const stored = JSON.parse(json) as Stored
      const live = checkRequest(stored.session, binding, clock.now())
      if (!live.ok) throw new RelayError(live.code, { detail: live.detail })
      if (subject.kind === 'account' && stored.accountId !== subject.account.id) {
        throw new RelayError('UIA_SESSION_INVALID', { detail: 'this UIA session belongs to another account' })
      }

      // Before any credential is looked at: a second factor is never checked ahead of the password.
      if (!allowedNextStages(stored.session).includes(stage)) {
        throw new RelayError('UIA_STAGE_NOT_ALLOWED', { detail: `${stage} is not the next stage of any flow` })
      }
      let account = await accountOf(deps, subject, stored)
      // The sign-in epoch of the credentials checked, fixed at the session's first stage (finding 47).
      const authEpoch = stored.authEpoch ?? (account === null ? undefined : authEpochOf(account))
      const failed = await verify(deps, stage, auth, subject, account, request)
      if (failed !== null) throw new UiaChallengeError(challengeBody(stored.session, { errcode: 'M_FORBIDDEN', error: failed }))
      // The password may just have been rehashed: later checks need the current version.
      if (account !== null && stage === 'm.login.password') account = await deps.accounts.get(account.id)
      if (account !== null) refuseUnusable(account, clock)
      // A password change that signed the other devices out, or a TOTP enrolment, landed since the
      // credentials were read: what they proved no longer stands (the mint checks it again).
      if (account !== null && !isStillAuthorised(account, authEpoch)) throw new RelayError('FORBIDDEN', { detail: SIGN_IN_VOIDED })

      const advanced = advance(deps, stored, stage, account, options.flows !== undefined)
      const next: Stored = authEpoch === undefined ? advanced : { ...advanced, authEpoch }
      const swapped = await kv.replaceIfMatch(keyOf(sessionId), json, JSON.stringify(next))
      if (swapped !== 'ok') throw new RelayError('UIA_SESSION_INVALID', { detail: 'the UIA session changed concurrently' })
      if (next.session.state.kind === 'open') throw new UiaChallengeError(challengeBody(next.session))
      return account
    },
  }
}
