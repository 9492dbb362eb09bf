/**
 * Regression tests of the guess limits (findings 2 and 3 of the hardening review), run against the
 * memory app and the Redis-backed app: `describeAuthLimits(name, make)`. Verifier calls are counted by
 * wrapping the password, TOTP and recovery-code checks the UIA stages call.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'
import type { TestApp } from '../helpers/make-app.ts'
import { call, login, viaApp, withUia, type Send } from '../helpers/account-client.ts'

/** Makes a fresh app with `env` and says how to release it. */
export type MakeLimitsApp = (env: Record<string, string>) => Promise<{ t: TestApp; close: () => Promise<void> }>

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'
export const PASSWORD = 'correct horse battery staple'
const TEST_ENV: Record<string, string> = {
  QRELAY_ARGON2_MEMORY_KIB: '64',
  QRELAY_ARGON2_ITERATIONS: '1',
  QRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
}

/** The owner's usual network, the attacker's addresses, and a network nobody used yet. */
export const OWNER_NET = '192.0.2.1'
const attackerNet = (i: number): string => `203.0.113.${1 + (i % 200)}`

/**
 * How many fixed windows of length `windowMs` the span [startMs, endMs] touches. A budget admits at
 * most its limit per fixed window (the sliding estimate only ever narrows the current one), so that
 * many limits bound the guesses checked over the span.
 */
const windowsSpanned = (windowMs: number, startMs: number, endMs: number): number =>
  Math.floor(endMs / windowMs) - Math.floor(startMs / windowMs) + 1
const HOTEL_NET = '198.51.100.20'

/** Counts calls of `object[name]` (a method the UIA service calls through the shared object). */
const countCalls = <T extends object>(object: T, name: keyof T): { calls: () => number } => {
  let calls = 0
  const original = object[name] as unknown as (...args: unknown[]) => unknown
  ;(object as Record<keyof T, unknown>)[name] = (...args: unknown[]) => {
    calls++
    return original.apply(object, args)
  }
  return { calls: () => calls }
}

/** Starts a login UIA session for `username` from `send` and returns its id. */
const startLogin = async (send: Send, username: string, extra: Record<string, unknown> = {}): Promise<string> => {
  const first = await call(send, 'POST', '/v1/login', { username, ...extra })
  expect(first.status).toBe(401)
  return first.body.session as string
}

const passwordRound = (send: Send, session: string, password: string, extra: Record<string, unknown> = {}) =>
  call(send, 'POST', '/v1/login', { username: 'alice', ...extra, auth: { type: 'm.login.password', session, password } })

export const describeAuthLimits = (name: string, make: MakeLimitsApp): void => {
  describe(`auth limits: ${name}`, () => {
    let closeApp: (() => Promise<void>) | undefined
    afterEach(async () => {
      await closeApp?.()
      closeApp = undefined
    })

    const setup = async (env: Record<string, string> = {}) => {
      const { t, close } = await make({ ...TEST_ENV, ...env })
      closeApp = close
      const owner = viaApp(t.app, OWNER_NET)
      const created = await call(owner, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
      expect(created.status).toBe(201)
      return { t, owner, limit: t.config.auth.failuresPerAccount.limit }
    }

    /** Signs in from the owner's network, enrols TOTP; returns the key and the recovery codes. */
    const enrolTotp = async (t: TestApp, owner: Send) => {
      const tokens = await login(owner, 'alice', PASSWORD)
      const begun = await withUia(owner, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, tokens.access_token)
      expect(begun.final.status).toBe(200)
      const key = totpSecretFromBase32(begun.final.body.secret as string)
      if (!key.ok) throw new Error('bad secret')
      const bytes = key.value.bytes()
      const confirmed = await call(
        owner,
        'POST',
        '/v1/account/totp/confirm',
        { code: generateTotp(bytes, t.clock.now()) },
        tokens.access_token,
      )
      expect(confirmed.status).toBe(200)
      t.clock.advance(30_000)
      return { key: bytes, recoveryCodes: confirmed.body.recovery_codes as string[] }
    }

    describe('finding 2: guess limits hold under concurrency', () => {
      it('finding 2: 200 concurrent password guesses verify at most the limit, and the right password among them is refused', async () => {
        const { t, limit } = await setup()
        const attacker = viaApp(t.app, attackerNet(0))
        const session = await startLogin(attacker, 'alice')
        const verifier = countCalls(t.auth.accounts, 'checkPassword')
        const answers = await Promise.all(
          Array.from({ length: 200 }, (_, i) => passwordRound(attacker, session, i === 55 ? PASSWORD : `wrong password ${i}`)),
        )
        expect(verifier.calls()).toBeLessThanOrEqual(limit)
        expect(answers.filter((a) => a.status === 429)).toHaveLength(200 - verifier.calls())
        expect(answers[55]!.status).toBe(429)
        expect(answers.some((a) => a.status === 200 || (a.body.completed ?? []).length > 0)).toBe(false)
        // And after the storm, the right password is still refused unchecked.
        expect((await passwordRound(attacker, session, PASSWORD)).status).toBe(429)
        expect(verifier.calls()).toBeLessThanOrEqual(limit)
      })

      it('finding 2: 200 concurrent guesses from 200 addresses verify at most the account-wide limit', async () => {
        const { t, limit } = await setup()
        const verifier = countCalls(t.auth.accounts, 'checkPassword')
        const sends = Array.from({ length: 200 }, (_, i) => viaApp(t.app, attackerNet(i)))
        const sessions = await Promise.all(sends.map((send) => startLogin(send, 'alice')))
        const answers = await Promise.all(sends.map((send, i) => passwordRound(send, sessions[i]!, i === 55 ? PASSWORD : `wrong ${i}`)))
        expect(verifier.calls()).toBeLessThanOrEqual(limit)
        expect(answers.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(200 - limit)
        expect(answers[55]!.status).toBe(429)
      })

      it('finding 2: 200 concurrent TOTP guesses verify at most the limit, and the right code is refused', async () => {
        const { t, owner, limit } = await setup()
        const { key } = await enrolTotp(t, owner)
        // The attacker knows the password (phished) and guesses the second factor from elsewhere.
        const attacker = viaApp(t.app, attackerNet(1))
        const session = await startLogin(attacker, 'alice')
        expect((await passwordRound(attacker, session, PASSWORD)).status).toBe(401)
        const verifier = countCalls(t.auth.secondFactors, 'verifyTotp')
        const right = generateTotp(key, t.clock.now())
        const guess = (code: string) =>
          call(attacker, 'POST', '/v1/login', { username: 'alice', auth: { type: 'm.login.2fa.totp', session, code } })
        const wrongCode = (i: number) => String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0')
        const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => guess(i === 55 ? right : wrongCode(i))))
        expect(verifier.calls()).toBeLessThanOrEqual(limit)
        expect(answers[55]!.status).toBe(429)
        expect((await guess(right)).status).toBe(429)
        expect(verifier.calls()).toBeLessThanOrEqual(limit)
      })

      it('finding 2: 200 concurrent recovery-code guesses verify at most the limit, and a real code is refused', async () => {
        const { t, owner, limit } = await setup()
        const { recoveryCodes } = await enrolTotp(t, owner)
        const attacker = viaApp(t.app, attackerNet(2))
        const session = await startLogin(attacker, 'alice')
        expect((await passwordRound(attacker, session, PASSWORD)).status).toBe(401)
        const verifier = countCalls(t.auth.secondFactors, 'useRecoveryCode')
        const guess = (code: string) =>
          call(attacker, 'POST', '/v1/login', { username: 'alice', auth: { type: 'm.login.2fa.recovery', session, code } })
        const answers = await Promise.all(
          Array.from({ length: 200 }, (_, i) => guess(i === 55 ? recoveryCodes[0]! : `aaaa-bbbb-${String(i).padStart(4, '0')}`)),
        )
        expect(verifier.calls()).toBeLessThanOrEqual(limit)
        expect(answers[55]!.status).toBe(429)
        expect((await guess(recoveryCodes[1]!)).status).toBe(429)
      })
    })

    describe('finding 3: lockout is not a weapon', () => {
      /** The attacker spends the whole account budget from many addresses, wrong passwords only. */
      const hammer = async (t: TestApp, rounds: number) => {
        const answers = []
        for (let i = 0; i < rounds; i++) {
          const send = viaApp(t.app, attackerNet(10 + i))
          const session = await startLogin(send, 'alice')
          answers.push(await passwordRound(send, session, `attacker guess ${i}`))
        }
        return answers
      }

      it('finding 3: the owner gets in with a device_trust token and from the usual network while an attacker elsewhere hammers', async () => {
        const { t, owner, limit } = await setup()
        const first = await login(owner, 'alice', PASSWORD)

        const verifier = countCalls(t.auth.accounts, 'checkPassword')
        const answers = await hammer(t, 60)
        expect(answers.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(60 - limit)
        expect(verifier.calls()).toBeLessThanOrEqual(limit)

        // The owner's usual network (where a device of the account was seen), no token: in.
        const usual = await passwordRound(owner, await startLogin(owner, 'alice'), PASSWORD)
        expect(usual.status, JSON.stringify(usual.body)).toBe(200)
        // A stranger without a token on a new network: refused unchecked (the account-wide ceiling).
        const hotel = viaApp(t.app, HOTEL_NET)
        expect((await passwordRound(hotel, await startLogin(hotel, 'alice'), PASSWORD)).status).toBe(429)
        // The owner on that same new network, with the token of the earlier sign-in: in.
        expect(first.device_trust).toMatch(/^[A-Za-z0-9_-]{43}$/)
        const trusted = { device_trust: first.device_trust as string }
        const withToken = await passwordRound(hotel, await startLogin(hotel, 'alice', trusted), PASSWORD, trusted)
        expect(withToken.status, JSON.stringify(withToken.body)).toBe(200)
        expect(withToken.body.device_trust).toMatch(/^[A-Za-z0-9_-]{43}$/)
        expect(withToken.body.device_trust).not.toBe(first.device_trust)
      })

      it('finding 3: a signed-in owner changes the password while an attacker has used up the account budget', async () => {
        const { t, owner } = await setup()
        const tokens = await login(owner, 'alice', PASSWORD)
        await hammer(t, 40)
        // Even from a network the account never used (a phone on mobile data).
        const mobile = viaApp(t.app, '198.51.100.99')
        const changed = await withUia(
          mobile,
          'POST',
          '/v1/account/password',
          { new_password: 'a brand new passphrase', logout_devices: false },
          PASSWORD,
          undefined,
          tokens.access_token,
        )
        expect(changed.final.status, JSON.stringify(changed.final.body)).toBe(200)
      })

      it('finding 3: a device_trust token works for its own account only, rotates, and has a small budget of its own', async () => {
        const { t, owner } = await setup()
        const bob = await call(owner, 'POST', '/v1/admin/users', { username: 'bob', password: PASSWORD }, ADMIN_TOKEN)
        expect(bob.status).toBe(201)
        const first = await login(owner, 'alice', PASSWORD)
        const token = first.device_trust as string
        const perDevice = t.config.auth.failuresPerTrustedDevice.limit
        const hotel = viaApp(t.app, HOTEL_NET)
        const trusted = { device_trust: token }

        // Spent on bob, alice's token counts for nothing: bob's untrusted budget applies.
        const bobRound = (session: string, password: string) =>
          call(hotel, 'POST', '/v1/login', { username: 'bob', ...trusted, auth: { type: 'm.login.password', session, password } })
        const bobSession = await startLogin(hotel, 'bob', trusted)
        for (let i = 0; i < t.config.auth.failuresPerAccountNetwork.limit; i++)
          expect((await bobRound(bobSession, `no ${i}`)).status).toBe(401)
        expect((await bobRound(bobSession, PASSWORD)).status).toBe(429)

        // Rotation: a sign-in that presents the token replaces it; the old one stops counting as trusted.
        const renewed = await passwordRound(owner, await startLogin(owner, 'alice', trusted), PASSWORD, trusted)
        expect(renewed.status).toBe(200)
        const alice = await t.durable.accounts.get(first.account_id as string)
        expect(await t.auth.trust.originOf(alice, '198.51.100.31', { token })).toEqual({ kind: 'unknown' })
        const fresh = { device_trust: renewed.body.device_trust as string }
        expect((await t.auth.trust.originOf(alice, '198.51.100.31', { token: fresh.device_trust })).kind).toBe('trusted-device')

        // The token's own budget: after that many failures it is refused, right password or not.
        const other = viaApp(t.app, '198.51.100.30')
        const session = await startLogin(other, 'alice', fresh)
        for (let i = 0; i < perDevice; i++) expect((await passwordRound(other, session, `typo ${i}`, fresh)).status).toBe(401)
        expect((await passwordRound(other, session, PASSWORD, fresh)).status).toBe(429)
      })

      // Placed at the start of a window of the trusted rule, and two minutes before one ends (the
      // four minutes then straddle two windows, where a sliding estimate is easiest to get wrong).
      it.each([
        ['within one window', 0],
        ['across a window boundary', 120_000],
      ])(
        'finding 3: a stolen session carried from network to network still buys only a bounded number of checked guesses (%s)',
        async (_, beforeEndMs) => {
          const { t, owner } = await setup()
          const { windowMs } = t.config.auth.failuresPerAccountTrusted
          const target = beforeEndMs === 0 ? 0 : windowMs - beforeEndMs
          t.clock.advance((target - (t.clock.now() % windowMs) + windowMs) % windowMs)
          const stolen = await login(owner, 'alice', PASSWORD)
          const accountId = stolen.account_id as string
          const verifier = countCalls(t.auth.accounts, 'checkPassword')
          const startedAtMs = t.clock.now()
          // Four networks within the access token's lifetime: 4 × 10 per-network guesses plus step-ups.
          for (let i = 0; i < 4; i++) {
            const net = `198.51.100.${100 + i}`
            const send = viaApp(t.app, net)
            // Using the token from here makes this a network of one of the account's devices.
            t.clock.advance(61_000)
            expect((await call(send, 'GET', '/v1/account/whoami', undefined, stolen.access_token)).status).toBe(200)
            // The last-seen write is not awaited by the request: wait for it (bounded), or the network
            // would still count as unknown and the guesses would draw on the untrusted budgets instead.
            let seen = false
            for (let wait = 0; wait < 1000 && !seen; wait++) {
              const devices = await t.durable.devices.listByAccount(accountId)
              seen = devices.some((d) => d.lastSeenNetwork === net)
              if (!seen) await new Promise((resolve) => setTimeout(resolve, 10))
            }
            expect(seen).toBe(true)
            const session = await startLogin(send, 'alice')
            for (let g = 0; g < 12; g++) await passwordRound(send, session, `guess ${i}.${g}`)
            await withUia(send, 'POST', '/v1/account/totp', {}, `step-up guess ${i}`, undefined, stolen.access_token)
          }
          // Stated bound: the trusted ceiling (known networks and devices together) per fixed window of
          // its rule. The Redis run starts at wall-clock time, so the four minutes may straddle two windows.
          const trusted = t.config.auth.failuresPerAccountTrusted
          expect(verifier.calls()).toBeLessThanOrEqual(trusted.limit * windowsSpanned(trusted.windowMs, startedAtMs, t.clock.now()))
        },
      )

      it('finding 3: refuses a malformed device_trust with 400 and changes nothing', async () => {
        const { owner } = await setup()
        for (const bad of [42, '', 'x'.repeat(129), ['a']]) {
          const answer = await call(owner, 'POST', '/v1/login', { username: 'alice', device_trust: bad })
          expect(answer.status).toBe(400)
          expect(answer.body.errcode).toBe('M_INVALID_PARAM')
        }
      })

      it("finding 3: over two hours of hammering from many addresses the attacker's verified guesses stay within the stated bound", async () => {
        const { t, owner, limit } = await setup()
        await login(owner, 'alice', PASSWORD)
        const windowMs = t.config.auth.failuresPerAccount.windowMs
        const spanMs = 2 * 3_600_000
        const verifier = countCalls(t.auth.accounts, 'checkPassword')
        let n = 0
        for (let elapsed = 0; elapsed < spanMs; elapsed += 60_000) {
          await Promise.all(
            Array.from({ length: 4 }, async () => {
              const send = viaApp(t.app, attackerNet(n++))
              return passwordRound(send, await startLogin(send, 'alice'), `attacker ${n}`)
            }),
          )
          t.clock.advance(60_000)
        }
        // Bound (security-notes/auth-limits.md): at most `limit` per fixed window of the account-wide
        // rule, so at most limit × (span / window + 1) over any span.
        expect(verifier.calls()).toBeLessThanOrEqual(limit * (spanMs / windowMs + 1))
        // And the owner is never locked out of the usual network meanwhile.
        const usual = await passwordRound(owner, await startLogin(owner, 'alice'), PASSWORD)
        expect(usual.status).toBe(200)
      })
    })
  })
}
