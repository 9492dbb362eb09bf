import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  UIA_STAGES,
  allowedNextStages,
  checkRequest,
  completeStage,
  consume,
  isComplete,
  isExpired,
  startSession,
  updateFlows,
  type UiaBinding,
  type UiaFlow,
  type UiaSession,
  type UiaStage,
} from '../../../../src/core/auth/uia.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

// Independent oracles: written from the rules, not from the engine.
const isPrefixOf = (prefix: readonly UiaStage[], flow: UiaFlow): boolean =>
  prefix.length <= flow.stages.length && prefix.every((s, i) => flow.stages[i] === s)
const finishable = (s: UiaSession): boolean => s.flows.some((f) => isPrefixOf(s.completed, f))
const equalsAFlow = (s: UiaSession): boolean => s.flows.some((f) => f.stages.length === s.completed.length && isPrefixOf(s.completed, f))
const usable = (flows: readonly UiaFlow[]): boolean =>
  flows.length > 0 && flows.every((f) => f.stages.length > 0 && new Set(f.stages).size === f.stages.length)

const stage = fc.constantFrom(...UIA_STAGES)
const goodFlow = fc.uniqueArray(stage, { minLength: 1, maxLength: 4 }).map((stages) => ({ stages }))
const anyFlow = fc.array(stage, { maxLength: 4 }).map((stages) => ({ stages }))
const params = fc.dictionary(stage, fc.record({ n: fc.nat(9) }), { maxKeys: 2 })
const advance = fc.nat(90_000)

type Action =
  | { kind: 'replace'; flows: UiaFlow[]; params: Record<string, unknown> }
  | { kind: 'insert'; flow: number; at: number; stage: UiaStage }
  | { kind: 'addFlow'; flow: UiaFlow }
  | { kind: 'dropFlow'; flow: number }
  | { kind: 'answer'; stage: UiaStage; request: 'same' | 'path' | 'body' | 'method' | 'foreign'; ms: number }
  | { kind: 'answerNext'; pick: number; ms: number }
  | { kind: 'consume'; ms: number }

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), flows: fc.array(anyFlow, { maxLength: 3 }), params }),
  fc.record({ kind: fc.constant('insert' as const), flow: fc.nat(3), at: fc.nat(4), stage }),
  fc.record({ kind: fc.constant('addFlow' as const), flow: goodFlow }),
  fc.record({ kind: fc.constant('dropFlow' as const), flow: fc.nat(3) }),
  fc.record({
    kind: fc.constant('answer' as const),
    stage,
    request: fc.constantFrom('same' as const, 'path' as const, 'body' as const, 'method' as const, 'foreign' as const),
    ms: advance,
  }),
  fc.record({ kind: fc.constant('answerNext' as const), pick: fc.nat(3), ms: advance }),
  fc.record({ kind: fc.constant('consume' as const), ms: advance }),
)

const BINDING: UiaBinding = { method: 'POST', path: '/v1/login', bodyHash: 'body-1' }
const START = Date.UTC(2026, 0, 1)

/** A refusal must carry one of the expected codes and a non-empty explanation. */
const expectRefusal = (r: { ok: boolean; code?: string; detail?: string }, codes: string[]): void => {
  expect(r.ok).toBe(false)
  expect(codes).toContain(r.code)
  expect(r.detail?.length ?? 0).toBeGreaterThan(0)
}

const checkInvariants = (s: UiaSession, now: number): void => {
  // Never stuck: completed is always a prefix of some declared flow...
  expect(finishable(s)).toBe(true)
  expect(new Set(s.completed).size).toBe(s.completed.length)
  // ...so a live session is complete or has a next stage.
  if (s.state.kind === 'open' && !isExpired(s, now) && !isComplete(s)) expect(allowedNextStages(s).length).toBeGreaterThan(0)
  // Never complete without a whole flow.
  if (isComplete(s)) expect(equalsAFlow(s)).toBe(true)
  if (s.state.kind === 'consumed') {
    expect(equalsAFlow(s)).toBe(true)
    expectRefusal(consume(s, now), ['UIA_SESSION_INVALID'])
    for (const st of UIA_STAGES) expectRefusal(completeStage(s, st, now), ['UIA_SESSION_INVALID'])
  }
}

const step = (s: UiaSession, now: number, a: Action, foreign: UiaSession): { s: UiaSession; now: number } => {
  switch (a.kind) {
    case 'replace':
    case 'insert':
    case 'addFlow':
    case 'dropFlow': {
      const flows =
        a.kind === 'replace'
          ? a.flows
          : a.kind === 'addFlow'
            ? [...s.flows, a.flow]
            : a.kind === 'dropFlow'
              ? s.flows.filter((_, i) => i !== a.flow % s.flows.length)
              : s.flows.map((f, i) =>
                  i === a.flow % s.flows.length
                    ? {
                        stages: [
                          ...f.stages.slice(0, a.at % (f.stages.length + 1)),
                          a.stage,
                          ...f.stages.slice(a.at % (f.stages.length + 1)),
                        ],
                      }
                    : f,
                )
      const nextParams = a.kind === 'replace' ? a.params : s.params
      const r = updateFlows(s, flows, nextParams)
      const acceptable = s.state.kind === 'open' && usable(flows) && flows.some((f) => isPrefixOf(s.completed, f))
      if (r.ok) {
        expect(acceptable).toBe(true)
        expect(r.value.completed).toEqual(s.completed)
        return { s: r.value, now }
      }
      expect(acceptable).toBe(false)
      expectRefusal(r, ['UIA_FLOW_CHANGE_REFUSED', 'UIA_SESSION_INVALID'])
      return { s, now }
    }
    case 'answer':
    case 'answerNext': {
      const t = now + a.ms
      const next = allowedNextStages(s)
      const st = a.kind === 'answer' ? a.stage : (next[a.pick % Math.max(1, next.length)] ?? 'm.login.dummy')
      const request =
        a.kind === 'answerNext' || a.request === 'same' || a.request === 'foreign'
          ? BINDING
          : a.request === 'path'
            ? { ...BINDING, path: '/v1/account/password' }
            : a.request === 'body'
              ? { ...BINDING, bodyHash: 'body-2' }
              : { ...BINDING, method: 'delete' }
      // An answer naming another session's id loads that session, bound to another request.
      if (a.kind === 'answer' && a.request === 'foreign') {
        expectRefusal(checkRequest(foreign, request, t), ['UIA_SESSION_INVALID'])
        return { s, now: t }
      }
      const gate = checkRequest(s, request, t)
      if (!gate.ok) {
        expect(s.state.kind === 'consumed' || isExpired(s, t) || request !== BINDING).toBe(true)
        expectRefusal(gate, ['UIA_SESSION_INVALID'])
        return { s, now: t }
      }
      const r = completeStage(s, st, t)
      if (r.ok) {
        expect(next).toContain(st)
        expect(r.value.completed).toEqual([...s.completed, st])
        return { s: r.value, now: t }
      }
      expect(next).not.toContain(st)
      expectRefusal(r, ['UIA_STAGE_NOT_ALLOWED'])
      return { s, now: t }
    }
    case 'consume': {
      const t = now + a.ms
      const wasComplete = isComplete(s)
      const r = consume(s, t)
      if (r.ok) {
        expect(wasComplete && !isExpired(s, t) && equalsAFlow(s)).toBe(true)
        expect(r.value.state.kind).toBe('consumed')
        return { s: r.value, now: t }
      }
      expectRefusal(r, ['UIA_SESSION_INVALID', 'AUTH_STAGE_REQUIRED'])
      if (r.code === 'AUTH_STAGE_REQUIRED') expect(wasComplete).toBe(false)
      return { s, now: t }
    }
    default: {
      const unreachable: never = a
      return unreachable
    }
  }
}

/** From a live session, follow allowed stages to the end and consume: must always succeed. */
const finish = (s: UiaSession, now: number): UiaSession => {
  let cur = s
  for (let i = 0; i < UIA_STAGES.length && !isComplete(cur); i++) {
    const r = completeStage(cur, allowedNextStages(cur)[0] as UiaStage, now)
    expect(r.ok).toBe(true)
    if (r.ok) cur = r.value
  }
  const spent = consume(cur, now)
  expect(spent.ok).toBe(true)
  if (!spent.ok) throw new Error('unreachable')
  expect(equalsAFlow(cur)).toBe(true)
  return spent.value
}

describe('UIA engine (property)', () => {
  it('either completes through a declared flow or refuses with a clear error; never stuck', () => {
    fc.assert(
      fc.property(
        fc.array(goodFlow, { minLength: 1, maxLength: 3 }),
        params,
        fc.integer({ min: 1_000, max: 600_000 }),
        fc.array(action, { maxLength: 30 }),
        fc.nat(1_000_000),
        (flows, p, ttlMs, actions, seed) => {
          const random = seededRandom(seed)
          const started = startSession(random, START, ttlMs, BINDING, flows, p)
          const foreign = startSession(random, START, ttlMs, { ...BINDING, path: '/v1/devices/x' }, flows, p)
          if (!started.ok || !foreign.ok) throw new Error('valid flows must start')
          let s = started.value
          let now = START
          checkInvariants(s, now)
          for (const a of actions) {
            ;({ s, now } = step(s, now, a, foreign.value))
            checkInvariants(s, now)
          }
          if (s.state.kind === 'open' && !isExpired(s, now)) {
            const spent = finish(s, now)
            checkInvariants(spent, now)
          } else {
            expectRefusal(consume(s, now), ['UIA_SESSION_INVALID'])
          }
        },
      ),
      { numRuns: 500, seed: 4_2026 },
    )
  })

  it('refuses every flow change that strands the completed stages', () => {
    fc.assert(
      fc.property(fc.array(goodFlow, { minLength: 1, maxLength: 3 }), fc.array(anyFlow, { maxLength: 3 }), (flows, next) => {
        const s0 = startSession(seededRandom(1), START, 60_000, BINDING, flows, {})
        if (!s0.ok) throw new Error('valid flows must start')
        // complete the first flow's first stage, then try the change
        const first = flows[0]!.stages[0] as UiaStage
        const s1 = completeStage(s0.value, first, START)
        if (!s1.ok) throw new Error('first stage of a flow is always allowed')
        const r = updateFlows(s1.value, next, {})
        expect(r.ok).toBe(usable(next) && next.some((f) => f.stages[0] === first))
      }),
      { numRuns: 500, seed: 7 },
    )
  })
})
