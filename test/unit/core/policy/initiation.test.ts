import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_INITIATION,
  attemptInitiationCode,
  createInitiationChallenge,
  mayCreateChannel,
  normalizeInitiationCode,
  type InitiationChallenge,
} from '../../../../src/core/policy/initiation.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

const NOW = Date.UTC(2026, 0, 1)

describe('mayCreateChannel', () => {
  it('lets anyone create by default', () => {
    expect(mayCreateChannel(DEFAULT_INITIATION, { authenticated: false })).toEqual({ ok: true, value: true })
  })

  it('refuses anonymous creators under authenticate-then-initiate', () => {
    const config = { requireAuthenticatedCreator: true }
    expect(mayCreateChannel(config, { authenticated: false })).toMatchObject({ ok: false, code: 'UNAUTHORIZED' })
    expect(mayCreateChannel(config, { authenticated: true }).ok).toBe(true)
  })
})

describe('initiation codes', () => {
  const fresh = (seed = 1) => createInitiationChallenge(seededRandom(seed), NOW, DEFAULT_INITIATION)
  const wrong = (code: string): string => code.replace(/^./, (d) => String((Number(d) + 1) % 10))

  it('draws a code of the configured digits and stores only its salted hash', () => {
    const { code, challenge } = fresh()
    expect(code).toMatch(/^\d{6}$/)
    expect(JSON.stringify(challenge)).not.toContain(code)
    expect(challenge).toMatchObject({ attemptsLeft: 5, state: 'open', expiresAtMs: NOW + 120_000 })
  })

  it('prints the issued pair without the code or its hash', () => {
    const issued = fresh(4)
    for (const printed of [JSON.stringify(issued), inspect(issued, { depth: 5 })]) {
      expect(printed).not.toContain(issued.code)
      expect(printed).not.toContain(issued.challenge.codeHash)
    }
  })

  it('differs from one draw to the next', () => {
    const random = seededRandom('otp')
    const codes = new Set(Array.from({ length: 50 }, () => createInitiationChallenge(random, NOW, DEFAULT_INITIATION).code))
    expect(codes.size).toBeGreaterThan(45)
  })

  it('verifies the right code, typed with spaces or full-width digits, once', () => {
    const { code, challenge } = fresh()
    const typed = `${code.slice(0, 3)} ${code.slice(3)}`.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)))
    expect(normalizeInitiationCode(typed)).toBe(code)
    const first = attemptInitiationCode(challenge, typed, NOW + 1)
    expect(first.verdict).toBe('verified')
    expect(attemptInitiationCode(first.next, code, NOW + 2).verdict).toBe('already_verified')
  })

  it('burns the code after the allowed wrong attempts', () => {
    const { code, challenge } = fresh()
    let current: InitiationChallenge = challenge
    const verdicts: string[] = []
    for (let i = 0; i < DEFAULT_INITIATION.maxAttempts; i++) {
      const outcome = attemptInitiationCode(current, wrong(code), NOW + i)
      verdicts.push(outcome.verdict)
      current = outcome.next
    }
    expect(verdicts).toEqual(['mismatch', 'mismatch', 'mismatch', 'mismatch', 'burned'])
    expect(current.attemptsLeft).toBe(0)
    expect(attemptInitiationCode(current, code, NOW + 10).verdict).toBe('burned')
  })

  it('counts each wrong attempt', () => {
    const { code, challenge } = fresh()
    const once = attemptInitiationCode(challenge, wrong(code), NOW)
    expect(once).toMatchObject({ verdict: 'mismatch', next: { attemptsLeft: 4, state: 'open' } })
    expect(attemptInitiationCode(once.next, code, NOW).verdict).toBe('verified')
  })

  it('refuses the right code once it has expired', () => {
    const { code, challenge } = fresh()
    const late = attemptInitiationCode(challenge, code, challenge.expiresAtMs)
    expect(late.verdict).toBe('expired')
    expect(late.next.state).toBe('burned')
  })
})
