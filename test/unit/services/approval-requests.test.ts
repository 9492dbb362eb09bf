import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { parseConfig } from '../../../src/config.ts'
import { RelayError } from '../../../src/core/errors.ts'
import { formatUserCode } from '../../../src/core/oauth/user-code.ts'
import type { NetworkSighting } from '../../../src/core/policy/proximity.ts'
import { approvalPolicyOf } from '../../../src/services/approval-policy.ts'
import { approvalRequests } from '../../../src/services/approval-requests.ts'
import { deviceGrantsService } from '../../../src/services/device-grants.ts'
import { rateLimiter } from '../../../src/services/rate-limiter.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const BINDING = 'b'.repeat(43)
const JKT = 'k'.repeat(43)

const setup = async (env: Record<string, string> = {}) => {
  const config = parseConfig(env)
  const clock = fakeClock()
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  const grants = deviceGrantsService({ kv: store.kv, clock, random: seededRandom(11), limits: config.oauth })
  const hidden = new Set<string>()
  const requests = approvalRequests({
    grants,
    limiter: rateLimiter(store.counters, clock),
    kv: store.kv,
    clock,
    oauth: config.oauth,
    proximity: approvalPolicyOf(config.policy, config.network).proximity,
    isHidden: async (accountId, grantId) => hidden.has(`${accountId}:${grantId}`),
  })
  const sighting: NetworkSighting = { source: 'device_authorization', atMs: clock.now(), ip: '203.0.113.9' }
  const issued = await grants.create({ dpopJkt: JKT, channelBinding: BINDING, sighting, requestedDeviceName: 'Laptop' })
  return { config, clock, grants, requests, hidden, issued }
}

const codeOf = async (promise: Promise<unknown>): Promise<string | undefined> => {
  try {
    await promise
    return undefined
  } catch (error) {
    if (error instanceof RelayError) return error.code
    throw error
  }
}

const lookup = (userCode: string, accountId = 'acc') => ({ accountId, clientKey: '198.51.100.0/24', userCode })

describe('approvalRequests', () => {
  it('finds the pending grant by its user code as shown (formatted) or canonical', async () => {
    const { requests, issued } = await setup()
    expect((await requests.loadPending(lookup(formatUserCode(issued.userCode)))).grant.id).toBe(issued.grant.id)
    expect((await requests.loadPending(lookup(issued.userCode))).grant.id).toBe(issued.grant.id)
  })

  it('answers NOT_FOUND alike for an unknown, malformed or expired code', async () => {
    const { clock, config, requests, issued } = await setup()
    expect(await codeOf(requests.loadPending(lookup('ZZZZZZZZ')))).toBe('NOT_FOUND')
    expect(await codeOf(requests.loadPending(lookup('!')))).toBe('NOT_FOUND')
    clock.advance(config.oauth.grantTtlSeconds * 1000)
    expect(await codeOf(requests.loadPending(lookup(issued.userCode)))).toBe('NOT_FOUND')
  })

  it('counts failed look-ups per address and then refuses every look-up from it, valid or not', async () => {
    const { requests, issued } = await setup({ QRELAY_RATE_USER_CODE_PER_CLIENT: '3/600s' })
    const outcomes: Array<string | undefined> = []
    for (let i = 0; i < 4; i++) outcomes.push(await codeOf(requests.loadPending(lookup('ZZZZZZZZ', `acc-${i}`))))
    expect(outcomes).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'RATE_LIMITED'])
    expect(await codeOf(requests.loadPending(lookup(issued.userCode, 'acc-9')))).toBe('RATE_LIMITED')
  })

  it('gives the context: time left, the new device networks as prefixes, and proximity to the approver', async () => {
    const { clock, config, requests, issued } = await setup()
    clock.advance(30_000)
    const approver: NetworkSighting = { source: 'approval', atMs: clock.now(), ip: '203.0.113.200' }
    const context = await requests.context(lookup(issued.userCode), async () => approver)
    expect(context.grant.id).toBe(issued.grant.id)
    expect(context.expiresInSeconds).toBe(config.oauth.grantTtlSeconds - 30)
    expect(context.newDeviceNetworks).toEqual([{ source: 'device_authorization', network: '203.0.113.0/24' }])
    expect(context.proximity).toEqual({ relation: 'same_prefix', inconsistent: false })
  })

  it('a grant this account hid is NOT_FOUND to it, and the approver is not located for a miss', async () => {
    const { requests, issued, hidden } = await setup()
    hidden.add(`acc:${issued.grant.id}`)
    let located = 0
    const approver = async (): Promise<NetworkSighting> => {
      located++
      return { source: 'approval', atMs: 0 }
    }
    expect(await codeOf(requests.context(lookup(issued.userCode), approver))).toBe('NOT_FOUND')
    expect(await codeOf(requests.context(lookup('ZZZZZZZZ'), approver))).toBe('NOT_FOUND')
    expect(located).toBe(0)
    expect((await requests.context(lookup(issued.userCode, 'other'), approver)).grant.id).toBe(issued.grant.id)
    expect(located).toBe(1)
  })
})
