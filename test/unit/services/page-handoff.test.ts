/**
 * The hand-over of a QR-login session to the page cookies, on a fake clock: the same device gets
 * unbound tokens with the configured lifetimes, the bound family and its access tokens are revoked,
 * and nothing is minted twice for one session (nor for an unbound one).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { memoryDurableStore } from '../../../src/adapters/durable/memory.ts'
import type { AccountRecord } from '../../../src/core/accounts/records.ts'
import { handOffToPage, type PageHandoffDeps } from '../../../src/services/page-handoff.ts'
import { sessionsService, type SessionsService } from '../../../src/services/sessions.ts'
import { type FakeClock, fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const JKT = 'j'.repeat(43)

describe('handOffToPage', () => {
  let clock: FakeClock
  let deps: PageHandoffDeps
  let sessions: SessionsService
  let account: AccountRecord

  beforeEach(async () => {
    clock = fakeClock()
    const durable = memoryDurableStore({ clock })
    const random = seededRandom(7)
    deps = { durable, clock, random, accessTokenTtlMs: 300_000, refreshTokenTtlMs: 86_400_000 }
    sessions = sessionsService({ ...deps, refreshGraceMs: 0 })
    const now = clock.now()
    account = {
      id: 'acct-1',
      username: 'hal',
      passwordHash: 'x',
      status: 'active',
      lockedUntilMs: 0,
      version: 1,
      createdAtMs: now,
      updatedAtMs: now,
    }
    expect(await durable.accounts.create(account)).toBe('ok')
  })

  it('mints unbound tokens for the same device and revokes the bound ones', async () => {
    const bound = await sessions.mint(account, { displayName: 'Web browser', origin: 'qr', jkt: JKT })
    const principal = await sessions.authenticate(bound.accessToken)
    const page = await handOffToPage(deps, principal)
    expect(page.deviceId).toBe(bound.deviceId)
    expect(page.jkt).toBeUndefined()
    const who = await sessions.authenticate(page.accessToken)
    expect(who.token.jkt).toBeUndefined()
    expect(who.token.expiresAtMs).toBe(clock.now() + 300_000)
    await expect(sessions.authenticate(bound.accessToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' })
    await expect(sessions.refresh(bound.refreshToken, JKT)).rejects.toMatchObject({ name: 'RefreshError' })
    // The page's refresh family renews without a key, to the end of its lifetime.
    clock.advance(300_000)
    await expect(sessions.authenticate(page.accessToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' })
    const renewed = await sessions.refresh(page.refreshToken)
    expect(renewed.deviceId).toBe(bound.deviceId)
  })

  it('hands one session over once', async () => {
    const bound = await sessions.mint(account, { displayName: 'Web browser', origin: 'qr', jkt: JKT })
    const principal = await sessions.authenticate(bound.accessToken)
    await handOffToPage(deps, principal)
    await expect(handOffToPage(deps, principal)).rejects.toMatchObject({ code: 'INVALID_TOKEN' })
  })

  it('refuses an unbound session and leaves it alone', async () => {
    const plain = await sessions.mint(account, { displayName: 'Laptop', origin: 'password' })
    const principal = await sessions.authenticate(plain.accessToken)
    await expect(handOffToPage(deps, principal)).rejects.toMatchObject({ code: 'INVALID_TOKEN' })
    await expect(sessions.authenticate(plain.accessToken)).resolves.toMatchObject({ deviceId: plain.deviceId })
  })
})
