import { describe, expect, it } from 'vitest'
import {
  allowedNextStages,
  checkRequest,
  completeStage,
  consume,
  isComplete,
  isExpired,
  matchesRequest,
  startSession,
  updateFlows,
  type UiaBinding,
  type UiaFlow,
  type UiaSession,
  type UiaStage,
} from '../../../../src/core/auth/uia.ts'
import { challengeBody } from '../../../../src/core/auth/uia-wire.ts'
import { canonicalJson, requestBodyHash } from '../../../../src/core/auth/uia-binding.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

const NOW = Date.UTC(2026, 0, 1)
const TTL = 300_000
const BINDING: UiaBinding = { method: 'post', path: '/v1/account/password', bodyHash: 'h1' }
const PASSWORD: UiaStage = 'm.login.password'
const TOTP: UiaStage = 'm.login.2fa.totp'
const RECOVERY: UiaStage = 'm.login.2fa.recovery'
const DUMMY: UiaStage = 'm.login.dummy'

const unwrap = <T>(r: { ok: true; value: T } | { ok: false; code: string; detail?: string }): T => {
  if (!r.ok) throw new Error(`expected ok, got ${r.code}: ${r.detail}`)
  return r.value
}
const start = (flows: UiaFlow[], params: Record<string, unknown> = {}): UiaSession =>
  unwrap(startSession(seededRandom('uia'), NOW, TTL, BINDING, flows, params))
const answer = (s: UiaSession, ...stages: UiaStage[]): UiaSession =>
  stages.reduce((acc, stage) => unwrap(completeStage(acc, stage, NOW + 1)), s)

describe('startSession', () => {
  it('opens a session bound to the request, with nothing completed', () => {
    const s = start([{ stages: [PASSWORD] }])
    expect(s.id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(s).toMatchObject({
      createdAtMs: NOW,
      expiresAtMs: NOW + TTL,
      binding: { method: 'POST', path: '/v1/account/password', bodyHash: 'h1' },
      completed: [],
      state: { kind: 'open' },
    })
    expect(isComplete(s)).toBe(false)
    expect(allowedNextStages(s)).toEqual([PASSWORD])
  })
  it.each([
    ['no flows', [], 'there must be at least one flow'],
    ['an empty flow', [{ stages: [] }], 'a flow must have at least one stage'],
    ['a repeated stage', [{ stages: [PASSWORD, PASSWORD] }], 'a flow repeats a stage'],
    ['an unknown stage', [{ stages: ['m.login.sso'] as unknown as UiaStage[] }], 'a flow names an unknown stage'],
  ])('refuses %s', (_name, flows, detail) => {
    expect(startSession(seededRandom(1), NOW, TTL, BINDING, flows, {})).toEqual({ ok: false, code: 'INVALID_PARAM', detail })
  })
  it('refuses a TTL that is not positive', () => {
    expect(startSession(seededRandom(1), NOW, 0, BINDING, [{ stages: [DUMMY] }], {})).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
  })
})

describe('completeStage', () => {
  const flows: UiaFlow[] = [{ stages: [PASSWORD, TOTP] }, { stages: [PASSWORD, RECOVERY] }]

  it('walks a flow in order to completion', () => {
    const s = start(flows)
    const afterPassword = answer(s, PASSWORD)
    expect(afterPassword.completed).toEqual([PASSWORD])
    expect(allowedNextStages(afterPassword)).toEqual([TOTP, RECOVERY])
    expect(isComplete(afterPassword)).toBe(false)
    const done = answer(afterPassword, RECOVERY)
    expect(isComplete(done)).toBe(true)
    expect(s.completed).toEqual([]) // pure: the input is untouched
  })
  it('refuses a stage out of order (flows are ordered lists)', () => {
    expect(completeStage(start(flows), TOTP, NOW)).toEqual({
      ok: false,
      code: 'UIA_STAGE_NOT_ALLOWED',
      detail: 'm.login.2fa.totp is not the next stage of any flow',
    })
  })
  it('refuses a stage in no flow, and a stage already completed', () => {
    expect(completeStage(start(flows), DUMMY, NOW)).toMatchObject({ ok: false, code: 'UIA_STAGE_NOT_ALLOWED' })
    expect(completeStage(answer(start(flows), PASSWORD), PASSWORD, NOW)).toEqual({
      ok: false,
      code: 'UIA_STAGE_NOT_ALLOWED',
      detail: 'm.login.password is already completed',
    })
  })
  it('refuses any stage once expired', () => {
    const s = start(flows)
    expect(isExpired(s, NOW + TTL - 1)).toBe(false)
    expect(isExpired(s, NOW + TTL)).toBe(true)
    expect(completeStage(s, PASSWORD, NOW + TTL)).toEqual({
      ok: false,
      code: 'UIA_SESSION_INVALID',
      detail: 'this UIA session has expired',
    })
  })
  it('lets a longer flow continue past a shorter complete one', () => {
    const s = answer(start([{ stages: [PASSWORD] }, { stages: [PASSWORD, TOTP] }]), PASSWORD)
    expect(isComplete(s)).toBe(true)
    expect(isComplete(answer(s, TOTP))).toBe(true)
  })
})

describe('updateFlows (MSC2839)', () => {
  it('inserts TOTP after the password once the user turns out to have it', () => {
    const afterPassword = answer(start([{ stages: [PASSWORD] }]), PASSWORD)
    expect(isComplete(afterPassword)).toBe(true)
    const stepped = unwrap(
      updateFlows(afterPassword, [{ stages: [PASSWORD, TOTP] }, { stages: [PASSWORD, RECOVERY] }], {
        [TOTP]: { digits: 6 },
      }),
    )
    expect(isComplete(stepped)).toBe(false)
    expect(allowedNextStages(stepped)).toEqual([TOTP, RECOVERY])
    expect(stepped.params).toEqual({ [TOTP]: { digits: 6 } })
    const done = answer(stepped, TOTP)
    expect(unwrap(consume(done, NOW + 2)).state).toEqual({ kind: 'consumed', consumedAtMs: NOW + 2 })
  })
  it('adds a flow and keeps the completed stages', () => {
    const s = answer(start([{ stages: [PASSWORD, TOTP] }]), PASSWORD)
    const more = unwrap(updateFlows(s, [{ stages: [PASSWORD, TOTP] }, { stages: [DUMMY] }], {}))
    expect(more.completed).toEqual([PASSWORD])
    expect(more.flows).toHaveLength(2)
  })
  it('refuses flows that strand the completed stages', () => {
    const s = answer(start([{ stages: [PASSWORD, TOTP] }]), PASSWORD)
    for (const flows of [[{ stages: [DUMMY] }], [{ stages: [TOTP, PASSWORD] }], [{ stages: [RECOVERY, PASSWORD, TOTP] }]]) {
      expect(updateFlows(s, flows, {})).toEqual({
        ok: false,
        code: 'UIA_FLOW_CHANGE_REFUSED',
        detail: 'no new flow continues the completed stages (m.login.password)',
      })
    }
  })
  it('refuses unusable flows', () => {
    const s = start([{ stages: [PASSWORD] }])
    expect(updateFlows(s, [], {})).toMatchObject({ ok: false, code: 'UIA_FLOW_CHANGE_REFUSED' })
    expect(updateFlows(s, [{ stages: [DUMMY, DUMMY] }], {})).toMatchObject({ ok: false, code: 'UIA_FLOW_CHANGE_REFUSED' })
  })
  it('refuses any change once consumed', () => {
    const spent = unwrap(consume(answer(start([{ stages: [DUMMY] }]), DUMMY), NOW + 1))
    expect(updateFlows(spent, [{ stages: [DUMMY, PASSWORD] }], {})).toMatchObject({ ok: false, code: 'UIA_SESSION_INVALID' })
  })
})

describe('consume', () => {
  it('needs a whole flow', () => {
    const s = answer(start([{ stages: [PASSWORD, TOTP] }]), PASSWORD)
    expect(consume(s, NOW + 1)).toEqual({ ok: false, code: 'AUTH_STAGE_REQUIRED', detail: 'more authentication stages are required' })
  })
  it('is single use: a second consume and any further stage fail', () => {
    const spent = unwrap(consume(answer(start([{ stages: [DUMMY] }, { stages: [DUMMY, PASSWORD] }]), DUMMY), NOW + 1))
    expect(isComplete(spent)).toBe(false)
    const again = { ok: false, code: 'UIA_SESSION_INVALID', detail: 'this UIA session was already used' }
    expect(consume(spent, NOW + 2)).toEqual(again)
    expect(completeStage(spent, PASSWORD, NOW + 2)).toEqual(again)
  })
  it('refuses an expired session even when complete', () => {
    const done = answer(start([{ stages: [DUMMY] }]), DUMMY)
    expect(consume(done, NOW + TTL)).toMatchObject({ ok: false, code: 'UIA_SESSION_INVALID' })
  })
})

describe('matchesRequest / checkRequest', () => {
  const s = start([{ stages: [PASSWORD] }])
  it('matches the same request, method in any case', () => {
    expect(matchesRequest(s, 'POST', '/v1/account/password', 'h1')).toBe(true)
    expect(matchesRequest(s, 'post', '/v1/account/password', 'h1')).toBe(true)
    expect(checkRequest(s, BINDING, NOW + 1)).toEqual({ ok: true, value: s })
  })
  it.each([
    ['method', { ...BINDING, method: 'PUT' }],
    ['path', { ...BINDING, path: '/v1/account/totp' }],
    ['body', { ...BINDING, bodyHash: 'h2' }],
  ])('refuses a request whose %s changed', (_name, request) => {
    expect(matchesRequest(s, request.method, request.path, request.bodyHash)).toBe(false)
    expect(checkRequest(s, request, NOW + 1)).toEqual({
      ok: false,
      code: 'UIA_SESSION_INVALID',
      detail: 'the request changed during the UIA session',
    })
  })
  it('refuses an expired or consumed session', () => {
    expect(checkRequest(s, BINDING, NOW + TTL)).toMatchObject({ ok: false, code: 'UIA_SESSION_INVALID' })
    const spent = unwrap(consume(answer(s, PASSWORD), NOW + 1))
    expect(checkRequest(spent, BINDING, NOW + 2)).toMatchObject({ ok: false, code: 'UIA_SESSION_INVALID' })
  })
})

describe('challengeBody', () => {
  it('is the Matrix 401 body', () => {
    const s = answer(start([{ stages: [PASSWORD, TOTP] }, { stages: [PASSWORD, RECOVERY] }], { [TOTP]: { digits: 6 } }), PASSWORD)
    expect(JSON.parse(JSON.stringify(challengeBody(s)))).toEqual({
      flows: [{ stages: [PASSWORD, TOTP] }, { stages: [PASSWORD, RECOVERY] }],
      params: { [TOTP]: { digits: 6 } },
      session: s.id,
      completed: [PASSWORD],
    })
  })
  it('adds errcode and error after a failed stage', () => {
    const s = start([{ stages: [PASSWORD] }])
    expect(challengeBody(s, { errcode: 'M_FORBIDDEN', error: 'wrong password' })).toMatchObject({
      errcode: 'M_FORBIDDEN',
      error: 'wrong password',
      completed: [],
    })
  })
  it('copies: editing the body leaves the session alone', () => {
    const s = start([{ stages: [PASSWORD] }])
    const body = challengeBody(s)
    body.flows[0]!.stages.push(DUMMY)
    body.completed.push(PASSWORD)
    expect(s.flows[0]!.stages).toEqual([PASSWORD])
    expect(s.completed).toEqual([])
  })
})

describe('requestBodyHash', () => {
  const key = new Uint8Array(32).fill(9)
  it('ignores auth and key order', () => {
    const a = requestBodyHash({ new_password: 'x', logout_devices: true, auth: { type: PASSWORD, session: 's' } }, key)
    const b = requestBodyHash({ logout_devices: true, new_password: 'x' }, key)
    expect(a).toBe(b)
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
  it('changes with any other field, with nesting and array order, and with the key', () => {
    const base = requestBodyHash({ a: [1, 2], b: { c: 1 } }, key)
    expect(requestBodyHash({ a: [2, 1], b: { c: 1 } }, key)).not.toBe(base)
    expect(requestBodyHash({ a: [1, 2], b: { c: 2 } }, key)).not.toBe(base)
    expect(requestBodyHash({ a: [1, 2], b: { c: 1 }, d: null }, key)).not.toBe(base)
    expect(requestBodyHash({ a: [1, 2], b: { c: 1 } }, new Uint8Array(32))).not.toBe(base)
  })
  it('does not contain the body text', () => {
    expect(requestBodyHash({ new_password: 'hunter2hunter2' }, key)).not.toContain('hunter2')
  })
  it('canonicalizes nested objects', () => {
    expect(canonicalJson({ b: { y: 1, x: [true, null, 'é'] }, a: 1, u: undefined })).toBe('{"a":1,"b":{"x":[true,null,"é"],"y":1}}')
    expect(canonicalJson(null)).toBe('null')
  })
})
