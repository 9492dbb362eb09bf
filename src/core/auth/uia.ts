/**
 * Dynamic user-interactive auth (Matrix UIA with MSC2839): a session record and its pure transitions.
 *
 * Rules this engine keeps:
 * - A flow is an ORDERED list of distinct stages. A stage may be completed only if it is the next
 *   stage, after exactly the completed ones, of some declared flow (`completed` is always a prefix of
 *   a flow). A stage is never completed twice.
 * - The server may replace flows and params between round trips (MSC2839: e.g. TOTP appears after the
 *   password once the user is known), but only so that `completed` stays a prefix of some new flow.
 *   Hence a live session is never stuck: it is complete, or some flow has a next stage.
 * - The session is bound to one request (method, path, body hash) and expires. It is spent once:
 *   {@link consume} is the only door to the protected action and moves it to a terminal state.
 *
 * The caller verifies each stage's credentials before {@link completeStage}, stores every returned
 * record with compare-and-swap, and consumes atomically (e.g. `takeOnce`).
 *
 * @see https://spec.matrix.org/v1.16/client-server-api/#user-interactive-authentication-api
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/2839
 */
import type { Random } from '../../ports.ts'
import { equalConstantTime, newOpaqueId } from '../crypto/secrets.ts'
import { fail, ok, type Result } from '../errors.ts'

/** The stages qrelay knows (MSC1997 names for the second factors). */
export const UIA_STAGES = ['m.login.password', 'm.login.2fa.totp', 'm.login.2fa.recovery', 'm.login.dummy'] as const

/** One stage type. */
export type UiaStage = (typeof UIA_STAGES)[number]

/** True when `value` is a stage qrelay knows. */
export const isUiaStage = (value: unknown): value is UiaStage => (UIA_STAGES as readonly unknown[]).includes(value)

/** One way to finish: its stages, in order. */
export interface UiaFlow {
  stages: readonly UiaStage[]
}

/** Per-stage parameters shown to the client (`params` on the wire), keyed by stage type. */
export type UiaParams = Readonly<Record<string, unknown>>

/** The request a session authorizes; a different request may not ride on it. */
export interface UiaBinding {
  method: string
  path: string
  /** See `requestBodyHash` in `uia-binding.ts`. */
  bodyHash: string
}

/** `open` until {@link consume}; `consumed` is terminal. */
export type UiaState = { kind: 'open' } | { kind: 'consumed'; consumedAtMs: number }

/** A UIA session as stored between round trips. */
export interface UiaSession {
  /** The wire `session` value (bearer-like: never logged). */
  id: string
  createdAtMs: number
  expiresAtMs: number
  binding: UiaBinding
  flows: readonly UiaFlow[]
  params: UiaParams
  completed: readonly UiaStage[]
  state: UiaState
}

const isPrefix = (completed: readonly UiaStage[], stages: readonly UiaStage[]): boolean =>
  completed.length <= stages.length && completed.every((stage, i) => stages[i] === stage)

/** Why a set of flows is unusable, or null when it is fine. */
const flowsProblem = (flows: readonly UiaFlow[]): string | null => {
  if (flows.length === 0) return 'there must be at least one flow'
  for (const flow of flows) {
    if (flow.stages.length === 0) return 'a flow must have at least one stage'
    if (!flow.stages.every(isUiaStage)) return 'a flow names an unknown stage'
    if (new Set(flow.stages).size !== flow.stages.length) return 'a flow repeats a stage'
  }
  return null
}

const copyFlows = (flows: readonly UiaFlow[]): UiaFlow[] => flows.map((flow) => ({ stages: [...flow.stages] }))

/**
 * Opens a session bound to one request. Errors: INVALID_PARAM when `ttlMs` is not positive or a flow
 * is empty, repeats a stage or names an unknown one.
 *
 * @example
 * const s = startSession(random, now, 300_000, { method: 'POST', path: '/v1/login', bodyHash },
 *   [{ stages: ['m.login.password'] }], {})
 */
export const startSession = (
  random: Random,
  now: number,
  ttlMs: number,
  binding: UiaBinding,
  flows: readonly UiaFlow[],
  params: UiaParams,
): Result<UiaSession, 'INVALID_PARAM'> => {
  if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) return fail('INVALID_PARAM', 'the UIA session TTL must be positive')
  const problem = flowsProblem(flows)
  if (problem !== null) return fail('INVALID_PARAM', problem)
  return ok({
    id: newOpaqueId(random),
    createdAtMs: now,
    expiresAtMs: now + ttlMs,
    binding: { ...binding, method: binding.method.toUpperCase() },
    flows: copyFlows(flows),
    params: { ...params },
    completed: [],
    state: { kind: 'open' },
  })
}

/** True once `now` reaches the session's expiry. */
export const isExpired = (session: UiaSession, now: number): boolean => now >= session.expiresAtMs

/** Stages that may be completed next: the next stage of every flow that `completed` is a proper prefix of. */
export const allowedNextStages = (session: UiaSession): UiaStage[] => {
  const next = new Set<UiaStage>()
  const n = session.completed.length
  for (const flow of session.flows) {
    if (flow.stages.length > n && isPrefix(session.completed, flow.stages)) next.add(flow.stages[n] as UiaStage)
  }
  return [...next]
}

/** True when the session is open and `completed` is exactly one whole declared flow. */
export const isComplete = (session: UiaSession): boolean =>
  session.state.kind === 'open' &&
  session.flows.some((f) => f.stages.length === session.completed.length && isPrefix(session.completed, f.stages))

/** Fails unless the session is open and unexpired. */
const checkLive = (session: UiaSession, now: number): Result<UiaSession, 'UIA_SESSION_INVALID'> => {
  switch (session.state.kind) {
    case 'consumed':
      return fail('UIA_SESSION_INVALID', 'this UIA session was already used')
    case 'open':
      return isExpired(session, now) ? fail('UIA_SESSION_INVALID', 'this UIA session has expired') : ok(session)
    default: {
      const unreachable: never = session.state
      return unreachable
    }
  }
}

/** True when a request is the one the session was opened for (method case-insensitive, path and body hash exact). */
export const matchesRequest = (session: UiaSession, method: string, path: string, bodyHash: string): boolean =>
  session.binding.method === method.toUpperCase() && session.binding.path === path && equalConstantTime(session.binding.bodyHash, bodyHash)

/**
 * The gate for an answer carrying `auth.session`: the session must be open, unexpired and bound to
 * this very request. Errors: UIA_SESSION_INVALID (detail says which).
 *
 * @example
 * const live = checkRequest(session, { method: 'POST', path: '/v1/login', bodyHash }, now)
 */
export const checkRequest = (session: UiaSession, request: UiaBinding, now: number): Result<UiaSession, 'UIA_SESSION_INVALID'> => {
  const live = checkLive(session, now)
  if (!live.ok) return live
  if (!matchesRequest(session, request.method, request.path, request.bodyHash)) {
    return fail('UIA_SESSION_INVALID', 'the request changed during the UIA session')
  }
  return live
}

/**
 * Records `stage` as completed; call it after verifying that stage's credentials.
 * Errors: UIA_SESSION_INVALID when consumed or expired; UIA_STAGE_NOT_ALLOWED when `stage` is not the
 * next stage of any flow after the completed ones (order matters; a stage never counts twice).
 *
 * @example
 * const next = completeStage(session, 'm.login.password', now)
 * if (next.ok && !isComplete(next.value)) return challengeBody(next.value)
 */
export const completeStage = (
  session: UiaSession,
  stage: UiaStage,
  now: number,
): Result<UiaSession, 'UIA_SESSION_INVALID' | 'UIA_STAGE_NOT_ALLOWED'> => {
  const live = checkLive(session, now)
  if (!live.ok) return live
  if (!allowedNextStages(session).includes(stage)) {
    const why = session.completed.includes(stage) ? 'is already completed' : 'is not the next stage of any flow'
    return fail('UIA_STAGE_NOT_ALLOWED', `${stage} ${why}`)
  }
  return ok({ ...session, completed: [...session.completed, stage] })
}

/**
 * Replaces flows and params between round trips (MSC2839). Refused unless the completed stages are a
 * prefix of at least one new flow, so the session stays finishable.
 * Errors: UIA_SESSION_INVALID when consumed; UIA_FLOW_CHANGE_REFUSED when the flows are unusable or
 * would strand the completed stages.
 *
 * @example
 * // the user turned out to have TOTP: password alone no longer suffices
 * updateFlows(session, [{ stages: ['m.login.password', 'm.login.2fa.totp'] }], params)
 */
export const updateFlows = (
  session: UiaSession,
  flows: readonly UiaFlow[],
  params: UiaParams,
): Result<UiaSession, 'UIA_SESSION_INVALID' | 'UIA_FLOW_CHANGE_REFUSED'> => {
  if (session.state.kind === 'consumed') return fail('UIA_SESSION_INVALID', 'this UIA session was already used')
  const problem = flowsProblem(flows)
  if (problem !== null) return fail('UIA_FLOW_CHANGE_REFUSED', problem)
  if (!flows.some((flow) => isPrefix(session.completed, flow.stages))) {
    const done = session.completed.join(', ') || 'none'
    return fail('UIA_FLOW_CHANGE_REFUSED', `no new flow continues the completed stages (${done})`)
  }
  return ok({ ...session, flows: copyFlows(flows), params: { ...params } })
}

/**
 * Spends a complete session: the returned record is terminal, so a second consume (or any further
 * stage) fails. Errors: UIA_SESSION_INVALID when consumed or expired; AUTH_STAGE_REQUIRED when no
 * whole flow is completed yet.
 *
 * @example
 * const spent = consume(session, now)
 * if (spent.ok) await doTheProtectedThing()
 */
export const consume = (session: UiaSession, now: number): Result<UiaSession, 'UIA_SESSION_INVALID' | 'AUTH_STAGE_REQUIRED'> => {
  const live = checkLive(session, now)
  if (!live.ok) return live
  if (!isComplete(session)) return fail('AUTH_STAGE_REQUIRED', 'more authentication stages are required')
  return ok({ ...session, state: { kind: 'consumed', consumedAtMs: now } })
}
