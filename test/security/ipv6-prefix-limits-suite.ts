/**
 * Finding 48 (SECURITY.md): one IPv6 /48 is 65 536 /64 clients. The limits it would multiply
 * (channel creation, registration and its check) are also charged to the client's /56 and /48, so one
 * /48 gets a bounded share of the live-channel cap and of the registration-check answers, while other
 * networks and IPv4 clients go on. Run against the memory app and the Redis-backed app:
 * `describeIpv6PrefixLimits(name, make)`.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { TestApp } from '../helpers/make-app.ts'
import { call, viaApp, type Answer } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { bindingOf, requestGrant } from '../helpers/qr-login.ts'

/** Makes a fresh app with `env` (the abuse guard wired when `abuse`) and says how to release it. */
export type MakePrefixApp = (
  env: Record<string, string>,
  options?: { abuse?: boolean },
) => Promise<{ t: TestApp; close: () => Promise<void> }>

const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'
const TEST_ENV: Record<string, string> = {
  QRELAY_ARGON2_MEMORY_KIB: '64',
  QRELAY_ARGON2_ITERATIONS: '1',
  QRELAY_REGISTRATION_ENABLED: 'true',
  QRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
}
const HOME = '198.51.100.20'

/** An address in /64 number `lan` of /56 number `site` of the /48 `2001:db8:<net>::/48`. */
const v6 = (net: string, site: number, lan = 0): string => `2001:db8:${net}:${((site << 8) | lan).toString(16)}::1`

export const describeIpv6PrefixLimits = (name: string, make: MakePrefixApp): void => {
  describe(`finding 48: one IPv6 /48 gets a bounded share (${name})`, () => {
    let close: (() => Promise<void>) | undefined
    afterEach(async () => {
      await close?.()
      close = undefined
    })
    const setup = async (env: Record<string, string>, options?: { abuse?: boolean }): Promise<TestApp> => {
      const made = await make({ ...TEST_ENV, ...env }, options)
      close = made.close
      return made.t
    }
    /** `n` channel creations from `address`: the statuses. */
    const creates = async (t: TestApp, address: string, n: number): Promise<number[]> => {
      const statuses: number[] = []
      for (let i = 0; i < n; i++) statuses.push((await call(viaApp(t.app, address), 'POST', '/v1/rendezvous', { data: '' })).status)
      return statuses
    }
    const created = (statuses: number[]): number => statuses.filter((s) => s === 200).length

    it('finding 48: every /64 of one /48 is a client of its own: a handful fill the cap and nobody else starts a QR login', async () => {
      // Scaled down: a cap of 120 instead of 100 000, and a /48 worth one /64 (30 creations a minute)
      // instead of four, so that one /48 may hold a quarter of the cap, not all of it. Per /64, 30
      // creations a minute and channels living 120 s, far below the abuse guard's 150 an hour.
      const t = await setup({ QRELAY_MAX_LIVE_CHANNELS: '120', QRELAY_RATE_IPV6_48_FACTOR: '1' }, { abuse: true })
      const refusals: Answer[] = []
      for (let net = 0; net < 4; net++) {
        const attacker = viaApp(t.app, `2001:db8:ab00:${net.toString(16)}::1`)
        for (let i = 0; i < 30; i++) {
          const answer = await call(attacker, 'POST', '/v1/rendezvous', { data: '' })
          if (answer.status >= 300) refusals.push(answer)
        }
      }
      // Before the fix: none refused, and the cap full.
      expect(refusals).toHaveLength(90)
      expect(refusals.every((r) => r.status === 429 && r.body.errcode === 'M_LIMIT_EXCEEDED')).toBe(true)
      // The owner, at home, shows a QR code for a new laptop.
      const mine = await call(viaApp(t.app, HOME), 'POST', '/v1/rendezvous', { data: '' })
      expect(mine.status, JSON.stringify(mine.body)).toBe(200)
    })

    it('one /48 stays within its budget over many /64s and /56s, while another /48 and IPv4 clients create channels', async () => {
      // Defaults: 30 a minute per /64, 60 per /56 (factor 2), 120 per /48 (factor 4).
      const t = await setup({ QRELAY_MAX_LIVE_CHANNELS: '1000' })
      let admitted = 0
      for (let site = 0; site < 16; site++) admitted += created(await creates(t, v6('ab00', site), 10))
      expect(admitted).toBe(120)
      expect(created(await creates(t, v6('ab00', 99, 7), 1))).toBe(0)
      // Another /48, and IPv4 clients, are not touched by it.
      expect(created(await creates(t, v6('cd00', 0), 30))).toBe(30)
      expect(created(await creates(t, '192.0.2.7', 30))).toBe(30)
      // A minute later the /48's sliding window has room again.
      t.clock.advance(120_000)
      expect(created(await creates(t, v6('ab00', 3, 1), 1))).toBe(1)
    })

    it('one /56 gets two /64 budgets; a /64 refused by its own limit uses up nothing of its neighbours', async () => {
      const t = await setup({ QRELAY_MAX_LIVE_CHANNELS: '1000' })
      // One /64 hammers: 30 created, 70 refused by its own limit, none of them charged to its /56.
      expect(created(await creates(t, v6('ab00', 1, 0), 100))).toBe(30)
      // Its /56 has 30 more for the other /64s, and no more.
      let admitted = 0
      for (let lan = 1; lan <= 4; lan++) admitted += created(await creates(t, v6('ab00', 1, lan), 10))
      expect(admitted).toBe(30)
      // Another /56 of the same /48 has its own.
      expect(created(await creates(t, v6('ab00', 2, 0), 30))).toBe(30)
    })

    it('a creation refused at the live-channel cap hands its /56 and /48 slots back', async () => {
      // 30 creations an hour per /64, and per /56 and /48 alike (factor 1): one /64 could use them all.
      const env = { QRELAY_MAX_LIVE_CHANNELS: '30', QRELAY_RATE_CREATE_PER_CLIENT: '30/3600s' }
      const t = await setup({ ...env, QRELAY_RATE_IPV6_48_FACTOR: '1', QRELAY_RATE_IPV6_56_FACTOR: '1' })
      expect(created(await creates(t, '192.0.2.7', 30))).toBe(30)
      for (let i = 0; i < 30; i++) {
        const refused = await call(viaApp(t.app, v6('ab00', 0)), 'POST', '/v1/rendezvous', { data: '' })
        expect([refused.status, refused.body.error]).toEqual([429, 'too many live channels'])
      }
      // The channels expire (120 s), the hour's counters do not: the /48 still has its 30 slots.
      t.clock.advance(121_000)
      expect(created(await creates(t, v6('ab00', 0, 1), 31))).toBe(30)
    })

    it('finding 48 (sibling of 38): the registration check is bounded per /48, not per /64', async () => {
      // 3 checks an hour per /64: 6 per /56, 12 per /48 (defaults' factors).
      const t = await setup({ QRELAY_RATE_REGISTER_CHECKS_PER_CLIENT: '3/3600s' })
      expect(
        (
          await call(
            viaApp(t.app, HOME),
            'POST',
            '/v1/admin/users',
            { username: 'alice', password: 'correct horse battery staple' },
            ADMIN_TOKEN,
          )
        ).status,
      ).toBe(201)
      const check = (address: string): Promise<Answer> =>
        call(viaApp(t.app, address), 'POST', '/v1/register', { username: 'alice', password: 'another long passphrase' })
      let answered = 0
      for (let site = 0; site < 10; site++) {
        for (let i = 0; i < 3; i++) {
          const answer = await check(v6('ab00', site))
          if (answer.status === 400 && answer.body.errcode === 'M_USER_IN_USE') answered++
          else expect(answer.status, JSON.stringify(answer.body)).toBe(429)
        }
      }
      expect(answered).toBe(12)
      // Another /48 and an IPv4 client still get their answers.
      expect((await check(v6('cd00', 0))).body.errcode).toBe('M_USER_IN_USE')
      expect((await check('192.0.2.7')).body.errcode).toBe('M_USER_IN_USE')
    })

    it('finding 48 (sibling): device authorizations, each a stored grant, are bounded per /48, not per /64', async () => {
      // 2 a minute per /64: 4 per /56, 8 per /48 (defaults' factors).
      const t = await setup({ QRELAY_RATE_DEVICE_AUTHORIZATION_PER_CLIENT: '2/60s' })
      const holder = await dpopHolder()
      const ask = (address: string): Promise<Answer> =>
        requestGrant(viaApp(t.app, address), holder, t.clock.now(), { channel_binding: bindingOf('A') })
      const statuses: number[] = []
      for (let site = 0; site < 6; site++) for (let i = 0; i < 2; i++) statuses.push((await ask(v6('ab00', site))).status)
      expect(statuses.filter((s) => s === 200)).toHaveLength(8)
      expect(statuses.filter((s) => s === 429)).toHaveLength(4)
      const refused = await ask(v6('ab00', 7))
      expect([refused.status, refused.body.error]).toEqual([429, 'temporarily_unavailable'])
      expect((await ask(v6('cd00', 0))).status).toBe(200)
      expect((await ask('192.0.2.7')).status).toBe(200)
    })
  })
}
