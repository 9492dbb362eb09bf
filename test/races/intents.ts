/**
 * The six one-winner intents, each as "prepare the contested thing, then N attempts at it": the
 * claim of one native channel, the approval of one grant, the redemption of one device code, the
 * rotation of one refresh token, the use of one recovery code, and replays of one DPoP proof (`jti`).
 * Every intent names the answer of its single winner, the documented 4xx answers of its losers, and
 * what must hold afterwards (nothing minted twice, no family revoked by a race).
 */
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'
import { call, refresh, withUia, type Answer, type Send } from '../helpers/account-client.ts'
import { dpopHolder, type DpopHolder } from '../helpers/dpop.ts'
import { BASE, bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { ADMIN_TOKEN, type RaceTarget } from './target.ts'

/** The six intents. */
export const INTENTS = ['claim', 'approval', 'redemption', 'refresh', 'recovery', 'dpop-jti'] as const
export type IntentName = (typeof INTENTS)[number]

/** One contested thing, ready to be raced. */
export interface Prepared {
  /** Attempt `i` (of n): one request, its answer. */
  attempt(i: number): Promise<Answer>
  isWin(a: Answer): boolean
  /**
   * Whether a second winning answer is the same outcome as the first (an idempotent duplicate, not a
   * second win): e.g. a refresh presented again within the grace gets the same successor token.
   */
  isSameOutcome?(first: Answer, other: Answer): boolean
  /** Whether a loser's answer is one of the documented refusals of this intent. */
  isDocumentedLoss(a: Answer): boolean
  /** Checks after the race, given the winners and every answer; returns the problems found (empty: all good). */
  after(winners: Answer[], answers: Answer[]): Promise<string[]>
}

const PASSWORD = 'correct horse battery staple'
const APPROVER = '198.51.100.20'
const NEW_DEVICE = '198.51.100.77'
/** Address of attempt i: many clients, all in one documentation-free private range. */
export const peerOf = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`

let accounts = 0
const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
/** A fresh account signed in once (the approver / the session owner). */
const newAccount = async (t: RaceTarget) => {
  const send = t.send(APPROVER, 0)
  const username = `race${RUN}x${accounts++}`
  const created = await call(send, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)
  if (created.status !== 201) throw new Error(`account creation: ${created.status} ${JSON.stringify(created.body)}`)
  const { final } = await withUia(send, 'POST', '/v1/login', { username, initial_device_display_name: 'Approver' }, PASSWORD)
  if (final.status !== 200) throw new Error(`login: ${final.status} ${JSON.stringify(final.body)}`)
  return { send, username, token: final.body.access_token as string, refreshToken: final.body.refresh_token as string }
}

const deviceCount = async (send: Send, token: string): Promise<number> => {
  const a = await call(send, 'GET', '/v1/devices', undefined, token)
  if (a.status !== 200) throw new Error(`device list: ${a.status} ${JSON.stringify(a.body)}`)
  return (a.body.devices as unknown[]).length
}

const is = (a: Answer, status: number, field: 'errcode' | 'error', values: readonly string[]): boolean =>
  a.status === status && values.includes(a.body[field] as string)
const RATE_LIMITED = (a: Answer): boolean => is(a, 429, 'errcode', ['M_LIMIT_EXCEEDED'])

/** A grant requested by a new device (DPoP key `holder`) and, when `approve`, approved by a fresh account. */
const grantFor = async (t: RaceTarget, approve: boolean) => {
  const owner = await newAccount(t)
  const holder = await dpopHolder()
  const binding = bindingOf('R')
  const newDevice = t.send(NEW_DEVICE, 0)
  const grant = await requestGrant(newDevice, holder, t.now(), { channel_binding: binding, device_name: 'Raced TV' })
  if (grant.status !== 200) throw new Error(`grant: ${grant.status} ${JSON.stringify(grant.body)}`)
  if (approve) {
    const ok = await decide(owner.send, owner.token, grant.codes.user_code, {
      decision: 'approve',
      channel_binding: binding,
      dpop_jkt: holder.jkt,
    })
    if (ok.status !== 200) throw new Error(`approval: ${ok.status} ${JSON.stringify(ok.body)}`)
  }
  return { owner, holder, binding, codes: grant.codes }
}

const redeemOnce = async (t: RaceTarget, holder: DpopHolder, deviceCode: string) => {
  const a = await pollToken(t.send(NEW_DEVICE, 0), holder, t.now(), deviceCode)
  if (a.status !== 200) throw new Error(`redemption: ${a.status} ${JSON.stringify(a.body)}`)
  return a.body
}

const prepareClaim = async (t: RaceTarget): Promise<Prepared> => {
  const creator = t.send(APPROVER, 0)
  const created = await call(creator, 'POST', '/v1/rendezvous', { data: 'offer' })
  if (created.status !== 200) throw new Error(`channel: ${created.status} ${JSON.stringify(created.body)}`)
  const path = `/v1/rendezvous/${created.body.id as string}`
  return {
    attempt: (i) => call(t.send(peerOf(i), i), 'GET', path),
    isWin: (a) => a.status === 200 && typeof a.body.joiner_secret === 'string',
    // A claimed channel refuses every other party with 403 (429 once the client used up its refusals).
    isDocumentedLoss: (a) => is(a, 403, 'errcode', ['M_FORBIDDEN']) || RATE_LIMITED(a),
    async after(winners) {
      const problems: string[] = []
      const secret = winners[0]?.body.joiner_secret as string | undefined
      if (secret === undefined) return problems
      const joiner = await call(creator, 'GET', path, undefined, secret)
      if (joiner.status !== 200) problems.push(`the winner's joiner secret does not work (${joiner.status})`)
      const owner = await call(creator, 'GET', path, undefined, created.body.creator_secret as string)
      if (owner.status !== 200) problems.push(`the creator lost the channel (${owner.status})`)
      return problems
    },
  }
}

const prepareApproval = async (t: RaceTarget): Promise<Prepared> => {
  const { owner, holder, binding, codes } = await grantFor(t, false)
  return {
    attempt: (i) =>
      decide(t.send(APPROVER, i), owner.token, codes.user_code, { decision: 'approve', channel_binding: binding, dpop_jkt: holder.jkt }),
    isWin: (a) => a.status === 200 && a.body.status === 'approved',
    // INVALID_TRANSITION (already decided) or NOT_FOUND (the grant moved on), as approvals.ts documents.
    isDocumentedLoss: (a) => is(a, 409, 'errcode', ['M_BAD_STATE']) || is(a, 404, 'errcode', ['M_NOT_FOUND']) || RATE_LIMITED(a),
    async after() {
      // The approved grant is redeemed exactly once (a poll again within the retry grace gets the same tokens).
      const before = await deviceCount(owner.send, owner.token)
      const first = await redeemOnce(t, holder, codes.device_code)
      const again = await pollToken(t.send(NEW_DEVICE, 0), holder, t.now(), codes.device_code)
      const devices = await deviceCount(owner.send, owner.token)
      const problems: string[] = []
      if (again.status === 200 && again.body.access_token !== first.access_token) problems.push('the approved grant was redeemed twice')
      if (devices !== before + 1) problems.push(`devices went from ${before} to ${devices}, expected +1`)
      return problems
    },
  }
}

const prepareRedemption = async (t: RaceTarget, n: number): Promise<Prepared> => {
  const { owner, holder, codes } = await grantFor(t, true)
  const before = await deviceCount(owner.send, owner.token)
  // Proofs made ahead, so the attempts leave together; each has its own jti.
  const proofs = await Promise.all(Array.from({ length: n }, () => holder.prove('POST', `${BASE}/oauth2/token`, t.now())))
  return {
    attempt: (i) => pollToken(t.send(NEW_DEVICE, i), holder, t.now(), codes.device_code, { proof: proofs[i] as string }),
    isWin: (a) => a.status === 200 && typeof a.body.access_token === 'string',
    // A poll of the grant just redeemed, by its key, within the retry grace resumes the redemption:
    // the same tokens of the one session (docs/security/faults.md), not a second win.
    isSameOutcome: (first, other) =>
      first.body.access_token === other.body.access_token && first.body.refresh_token === other.body.refresh_token,
    // RFC 8628 §3.5: a redeemed code is invalid_grant (past the grace); a poll inside the interval is
    // slow_down; authorization_pending while the session's steps are being stored by another poll
    // (Redis, Durable Objects). The proofs are made before the race: one that waited past the accepted
    // `iat` window (a race spread over a minute on a real clock) is refused as invalid_dpop_proof (RFC 9449 §7.1).
    isDocumentedLoss: (a) =>
      is(a, 400, 'error', ['invalid_grant', 'slow_down', 'invalid_dpop_proof', 'authorization_pending']) ||
      is(a, 429, 'error', ['slow_down']),
    async after(winners) {
      const devices = await deviceCount(owner.send, owner.token)
      const problems = devices === before + 1 ? [] : [`devices went from ${before} to ${devices}, expected +1`]
      const token = winners[0]?.body.access_token as string | undefined
      if (token !== undefined) {
        const who = await callWithDpop(t.send(NEW_DEVICE, 0), holder, t.now(), 'GET', '/v1/account/whoami', token)
        if (who.status !== 200) problems.push(`the redeemed access token does not work (${who.status})`)
      }
      return problems
    },
  }
}

const RACED = /concurrent request/
const REUSED = /already used: the session is revoked/
const REVOKED = /^the session is revoked$/

const prepareRefresh = async (t: RaceTarget): Promise<Prepared> => {
  const owner = await newAccount(t)
  const before = await deviceCount(owner.send, owner.token)
  const refused = (a: Answer, description: RegExp): boolean =>
    is(a, 400, 'error', ['invalid_grant']) && description.test(String(a.body.error_description))
  return {
    attempt: (i) => refresh(t.send(APPROVER, i), owner.refreshToken),
    isWin: (a) => a.status === 200 && typeof a.body.refresh_token === 'string',
    // Finding 12: the rotated token presented again within the grace gets the *same* successor (an
    // idempotent retry: one family, one next token), not a second rotation.
    isSameOutcome: (first, other) => first.body.refresh_token === other.body.refresh_token,
    // The token just rotated, presented again within QRELAY_REFRESH_GRACE_MS (2 s) of the rotation, is
    // "raced": refused, the family kept. Presented later it is a replay ("reused"): refused and the
    // family revoked, as documented. Only a race spread over more than the grace period shows the second.
    // Once revoked, later presentations are refused as "the session is revoked".
    isDocumentedLoss: (a) => refused(a, RACED) || refused(a, REUSED) || refused(a, REVOKED),
    async after(winners, answers) {
      const problems: string[] = []
      const next = winners[0]?.body.refresh_token as string | undefined
      const reused = answers.some((a) => refused(a, REUSED))
      if (next !== undefined) {
        const rotated = await refresh(owner.send, next)
        if (!reused && rotated.status !== 200)
          problems.push(
            `the winner's refresh token does not rotate (${rotated.status} ${JSON.stringify(rotated.body)}): family revoked by a race`,
          )
        if (reused && rotated.status === 200) problems.push('a replay after the grace period did not revoke the family')
      }
      if (!reused) {
        // The winner's access token: the first one may have expired during a long race on a real clock.
        const devices = await deviceCount(owner.send, (winners[0]?.body.access_token as string | undefined) ?? owner.token)
        if (devices !== before) problems.push(`devices went from ${before} to ${devices}`)
      }
      return problems
    },
  }
}

/** UIA sessions the recovery-code attempts share (each past the password stage). */
const RECOVERY_SESSIONS = 16

const prepareRecovery = async (t: RaceTarget, n: number): Promise<Prepared> => {
  const owner = await newAccount(t)
  const { final } = await withUia(owner.send, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, owner.token)
  if (final.status !== 200) throw new Error(`totp: ${final.status} ${JSON.stringify(final.body)}`)
  const key = totpSecretFromBase32(final.body.secret as string)
  if (!key.ok) throw new Error('bad TOTP secret')
  const confirmed = await call(
    owner.send,
    'POST',
    '/v1/account/totp/confirm',
    { code: generateTotp(key.value.bytes(), t.now()) },
    owner.token,
  )
  if (confirmed.status !== 200) throw new Error(`totp confirm: ${confirmed.status} ${JSON.stringify(confirmed.body)}`)
  const code = (confirmed.body.recovery_codes as string[])[0] as string
  const body = { username: owner.username, initial_device_display_name: 'Recovered' }
  const sessions: string[] = []
  for (let s = 0; s < Math.min(n, RECOVERY_SESSIONS); s++) {
    const first = await call(owner.send, 'POST', '/v1/login', body)
    const session = first.body.session as string
    const passed = await call(owner.send, 'POST', '/v1/login', { ...body, auth: { type: 'm.login.password', session, password: PASSWORD } })
    if (passed.status !== 401 || !(passed.body.completed as string[]).includes('m.login.password')) {
      throw new Error(`password stage: ${passed.status} ${JSON.stringify(passed.body)}`)
    }
    sessions.push(session)
  }
  const before = await deviceCount(owner.send, owner.token)
  return {
    attempt: (i) =>
      call(t.send(APPROVER, i), 'POST', '/v1/login', {
        ...body,
        auth: { type: 'm.login.2fa.recovery', session: sessions[i % sessions.length], code },
      }),
    isWin: (a) => a.status === 200 && typeof a.body.access_token === 'string',
    // A used code is a UIA failure (401 with the challenge and M_FORBIDDEN); a session spent or
    // changed by a concurrent request is 403 M_FORBIDDEN; past the guess budget, 429 unchecked.
    isDocumentedLoss: (a) =>
      (a.status === 401 && a.body.errcode === 'M_FORBIDDEN' && typeof a.body.session === 'string') ||
      is(a, 403, 'errcode', ['M_FORBIDDEN']) ||
      RATE_LIMITED(a),
    async after(winners) {
      const devices = await deviceCount(owner.send, (winners[0]?.body.access_token as string | undefined) ?? owner.token)
      return devices === before + 1 ? [] : [`devices went from ${before} to ${devices}, expected +1`]
    },
  }
}

const prepareJti = async (t: RaceTarget): Promise<Prepared> => {
  const { holder, codes } = await grantFor(t, true)
  const tokens = await redeemOnce(t, holder, codes.device_code)
  const at = tokens.access_token as string
  const proof = await holder.prove('GET', `${BASE}/v1/account/whoami`, t.now(), { accessToken: at })
  const headers = { authorization: `DPoP ${at}`, dpop: proof }
  return {
    attempt: (i) => call(t.send(NEW_DEVICE, i), 'GET', '/v1/account/whoami', undefined, undefined, headers),
    isWin: (a) => a.status === 200 && typeof a.body.user_id === 'string',
    // RFC 9449 §11.1: a proof seen before is refused (INVALID_DPOP_PROOF, 401).
    isDocumentedLoss: (a) => is(a, 401, 'errcode', ['M_UNAUTHORIZED']) && a.body.qrelay_code === 'INVALID_DPOP_PROOF',
    async after() {
      const fresh = await holder.prove('GET', `${BASE}/v1/account/whoami`, t.now(), { accessToken: at })
      const ok = await call(t.send(NEW_DEVICE, 0), 'GET', '/v1/account/whoami', undefined, undefined, {
        authorization: `DPoP ${at}`,
        dpop: fresh,
      })
      return ok.status === 200 ? [] : [`a fresh proof is refused after the race (${ok.status})`]
    },
  }
}

/** Prepares intent `name` on `t` for `n` attempts. */
export const prepareIntent = (name: IntentName, t: RaceTarget, n: number): Promise<Prepared> => {
  switch (name) {
    case 'claim':
      return prepareClaim(t)
    case 'approval':
      return prepareApproval(t)
    case 'redemption':
      return prepareRedemption(t, n)
    case 'refresh':
      return prepareRefresh(t)
    case 'recovery':
      return prepareRecovery(t, n)
    case 'dpop-jti':
      return prepareJti(t)
  }
}
