/**
 * Approving a typed user code (`binding: 'typed_code'`, the `/device` page), on a fake clock: the
 * approval carries a request-initiation code the new device must submit before the token endpoint
 * issues anything; wrong entries spend attempts and the last burns the grant; the code is stored
 * salted and hashed only; a decline burns the grant (the new device's poll hears `access_denied`).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { memoryDurableStore } from '../../../src/adapters/durable/memory.ts'
import { memorySecurityEvents } from '../../../src/adapters/events/memory.ts'
import { silentLogger } from '../../../src/adapters/platform/node.ts'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { parseConfig } from '../../../src/config.ts'
import { redactWith } from '../../../src/core/crypto/secrets.ts'
import type { NetworkSighting } from '../../../src/core/policy/proximity.ts'
import { compose } from '../../../src/runtime/compose.ts'
import type { ApprovalAttempt, ApprovalProof } from '../../../src/services/approvals.ts'
import type { AccountServices } from '../../../src/services/services.ts'
import { testKeyring } from '../../helpers/make-app.ts'
import { type FakeClock, fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'
import { COMMON_PASSWORDS } from '../../../src/core/auth/common-passwords.ts'

const JKT = 'k'.repeat(43)
const IP = '203.0.113.9'
const sighting = (source: NetworkSighting['source'], atMs: number): NetworkSighting => ({ source, atMs, ip: IP })

describe('approving a typed user code', () => {
  let clock: FakeClock
  let accounts: AccountServices
  let approver: { accountId: string; deviceId: string }
  let lastGrantId = ''

  beforeEach(async () => {
    clock = fakeClock()
    const config = parseConfig({ QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_ARGON2_MEMORY_KIB: '64', QRELAY_ARGON2_ITERATIONS: '1' })
    const services = compose(config, {
      store: memoryStore({ clock, sweepIntervalMs: 0 }),
      clock,
      random: seededRandom(3),
      logger: silentLogger,
      redact: redactWith(new Uint8Array(32).fill(9)),
      abuseGuard: false,
      accounts: {
        durable: memoryDurableStore({ clock }),
        uiaKey: new Uint8Array(32).fill(5),
        keyring: testKeyring(),
        commonPasswords: COMMON_PASSWORDS,
        securityEventSinks: [memorySecurityEvents()],
      },
    })
    if (services.accounts === undefined) throw new Error('no accounts')
    accounts = services.accounts
    const account = await accounts.auth.accounts.create('erin', 'correct horse battery staple')
    const tokens = await accounts.auth.sessions.mint(account, { displayName: 'Phone', origin: 'password' })
    approver = { accountId: account.id, deviceId: tokens.deviceId }
  })

  /** A new device's grant (its own channel binding: nobody else knows it) and the decision on its typed code. */
  const grantAndDecide = async (
    decision: 'approve' | 'decline',
    extra: Partial<ApprovalAttempt> = {},
    proof: ApprovalProof = { binding: 'typed_code' },
  ) => {
    const issued = await accounts.grants.create({
      dpopJkt: JKT,
      channelBinding: 'c'.repeat(43),
      sighting: sighting('device_authorization', clock.now()),
    })
    lastGrantId = issued.grant.id
    const stored = await accounts.approvalRequests.loadPending({ accountId: approver.accountId, clientKey: IP, userCode: issued.userCode })
    const outcome = await accounts.approvals.decide({
      stored,
      approver,
      decision,
      sighting: sighting('approval', clock.now()),
      stepUp: () => Promise.reject(new Error('no step-up expected')),
      ...proof,
      ...extra,
    })
    return { issued, outcome }
  }
  const poll = (deviceCode: string, proofJkt = JKT) =>
    accounts.deviceLogin.poll({ deviceCode, proofJkt, sighting: sighting('poll', clock.now()) })
  const enter = (deviceCode: string, code: string, proofJkt = JKT) => accounts.deviceLogin.enterCode({ deviceCode, proofJkt, code })

  it('approves with a 6-digit code, stored salted and hashed; no tokens until the new device submits it', async () => {
    const { issued, outcome } = await grantAndDecide('approve')
    expect(outcome.status).toBe('approved')
    const code = outcome.verificationCode ?? ''
    expect(code).toMatch(/^\d{6}$/)
    const stored = await accounts.grants.findById(issued.grant.id)
    expect(stored?.raw).not.toContain(code)
    expect(stored?.grant.initiation).toMatchObject({ state: 'open', attemptsLeft: 5 })
    expect(await poll(issued.deviceCode)).toMatchObject({ kind: 'error', error: 'authorization_pending' })
    // Only the grant's own key may submit it.
    expect(await enter(issued.deviceCode, code, 'x'.repeat(43))).toMatchObject({ error: 'invalid_grant' })
    expect(await enter(issued.deviceCode, '000000' === code ? '111111' : '000000')).toMatchObject({
      error: 'invalid_code',
      attemptsLeft: 4,
    })
    expect(await enter(issued.deviceCode, ` ${code.slice(0, 3)}-${code.slice(3)} `)).toEqual({ kind: 'verified' })
    const minted = await poll(issued.deviceCode)
    expect(minted.kind).toBe('tokens')
    if (minted.kind === 'tokens') expect(minted.tokens.jkt).toBe(JKT)
  })

  it('burns the grant after five wrong codes: the right one then fails and the poll hears access_denied', async () => {
    const { issued, outcome } = await grantAndDecide('approve')
    const code = outcome.verificationCode ?? ''
    const wrong = code === '999999' ? '999998' : '999999'
    for (let i = 4; i >= 1; i--) expect(await enter(issued.deviceCode, wrong)).toMatchObject({ error: 'invalid_code', attemptsLeft: i })
    expect(await enter(issued.deviceCode, wrong)).toMatchObject({ error: 'access_denied' })
    expect(await enter(issued.deviceCode, code)).toMatchObject({ error: 'access_denied' })
    expect(await poll(issued.deviceCode)).toMatchObject({ kind: 'error', error: 'access_denied' })
  })

  it('lets the code die with its grant', async () => {
    const { issued, outcome } = await grantAndDecide('approve')
    clock.advance(issued.grant.expiresAtMs - clock.now() + 1)
    expect(await enter(issued.deviceCode, outcome.verificationCode ?? '')).toMatchObject({ error: 'expired_token' })
    expect(await poll(issued.deviceCode)).toMatchObject({ kind: 'error', error: 'expired_token' })
  })

  it('burns the grant on a decline: the poll hears access_denied and the code cannot be approved later', async () => {
    const { issued, outcome } = await grantAndDecide('decline')
    expect(outcome.status).toBe('declined')
    expect((await accounts.grants.findById(issued.grant.id))?.grant.state.kind).toBe('declined')
    expect(await poll(issued.deviceCode)).toMatchObject({ kind: 'error', error: 'access_denied' })
    await expect(
      accounts.approvalRequests.loadPending({ accountId: approver.accountId, clientKey: IP, userCode: issued.userCode }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('keeps the channel rule for an approval that is not typed: a decline without the proof only hides the code', async () => {
    const { issued, outcome } = await grantAndDecide('decline', {}, { binding: 'channel', channelBinding: '', dpopJkt: '' })
    expect(outcome.status).toBe('declined')
    expect((await accounts.grants.findById(issued.grant.id))?.grant.state.kind).toBe('pending')
    expect(await poll(issued.deviceCode)).toMatchObject({ kind: 'error', error: 'authorization_pending' })
  })

  it('asks for the step-up the policy wants before the code is shown, and approves nothing when it fails', async () => {
    const far: NetworkSighting = { source: 'approval', atMs: clock.now(), ip: '198.51.100.7' }
    let asked = 0
    const refused = grantAndDecide('approve', {
      sighting: far,
      stepUp: async () => {
        asked++
        throw new Error('step-up refused')
      },
    })
    await expect(refused).rejects.toThrow('step-up refused')
    expect(asked).toBe(1)
    const left = await accounts.grants.findById(lastGrantId)
    expect(left?.grant.state.kind).toBe('pending')
    expect(left?.grant.initiation).toBeUndefined()
  })
})
