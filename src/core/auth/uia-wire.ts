/**
 * The Matrix wire form of a UIA challenge: the JSON body of the 401 that tells the client which flows
 * it may follow, what it has completed, and (after a failed stage) why that stage failed.
 *
 * @see https://spec.matrix.org/v1.16/client-server-api/#user-interactive-authentication-api
 */
import type { UiaSession, UiaStage } from './uia.ts'

/** The 401 body. Field names are the Matrix ones. */
export interface UiaChallengeBody {
  flows: { stages: UiaStage[] }[]
  params: Record<string, unknown>
  session: string
  completed: UiaStage[]
  /** Present when the last stage failed, e.g. `M_FORBIDDEN` for a wrong password. */
  errcode?: string
  error?: string
}

/**
 * The 401 body for `session`; pass `error` (errcode from `ERROR_TABLE`, short public text) when the
 * stage just answered failed.
 *
 * @example
 * return c.json(challengeBody(session, { errcode: 'M_FORBIDDEN', error: 'wrong password' }), 401)
 */
export const challengeBody = (session: UiaSession, error?: { errcode: string; error: string }): UiaChallengeBody => {
  const body: UiaChallengeBody = {
    flows: session.flows.map((flow) => ({ stages: [...flow.stages] })),
    params: { ...session.params },
    session: session.id,
    completed: [...session.completed],
  }
  if (error !== undefined) {
    body.errcode = error.errcode
    body.error = error.error
  }
  return body
}
