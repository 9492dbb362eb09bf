import { describe, expect, it } from 'vitest'
import { hasWiderNetworks, widerBudgetsOf } from '../../../../src/core/policy/ipv6-prefixes.ts'
import { parseAddress, rateKeyOf, type Address } from '../../../../src/core/policy/network.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

const RULE = { limit: 30, windowMs: 60_000 }
const SHARES = { ipv6Per56Factor: 2, ipv6Per48Factor: 4 }
const address = (text: string): Address => parseAddress(text) as Address

/** `n` random addresses inside `2001:db8:ab00::/48`, from a seeded stream. */
const inOne48 = (n: number, seed: number): string[] => {
  const random = seededRandom(seed)
  return Array.from({ length: n }, () => {
    const b = random.bytes(10)
    const group = (i: number): string => (((b[i] as number) << 8) | (b[i + 1] as number)).toString(16)
    return `2001:db8:ab00:${group(0)}:${group(2)}:${group(4)}:${group(6)}:${group(8)}`
  })
}

describe('widerBudgetsOf', () => {
  it('charges an IPv6 /64 key to its /56 and /48, with the rule times each share', () => {
    expect(widerBudgetsOf('2001:db8:ab00:1234::/64', RULE, SHARES)).toEqual([
      { network: '2001:db8:ab00:1200::/56', rule: { limit: 60, windowMs: 60_000 } },
      { network: '2001:db8:ab00::/48', rule: { limit: 120, windowMs: 60_000 } },
    ])
  })

  it('maps every /64 of one /48 to that one /48 (seeded addresses), and /64s of another /48 elsewhere', () => {
    const keys = inOne48(200, 7).map((text) => rateKeyOf(address(text)))
    expect(new Set(keys).size).toBeGreaterThan(190)
    const wider = keys.map((key) => widerBudgetsOf(key, RULE, SHARES))
    expect(new Set(wider.map((w) => w[1]?.network))).toEqual(new Set(['2001:db8:ab00::/48']))
    // The /56 is the /64 key's first 56 bits: its fourth group with the low byte cleared.
    for (const [i, key] of keys.entries()) {
      const fourth = Number.parseInt((key.split(':')[3] as string) || '0', 16)
      expect(wider[i]?.[0]?.network).toBe(rateKeyOf(address(`2001:db8:ab00:${(fourth & 0xff00).toString(16)}::`)).replace('/64', '/56'))
    }
    expect(widerBudgetsOf(rateKeyOf(address('2001:db8:ab01::1')), RULE, SHARES)[1]?.network).toBe('2001:db8:ab01::/48')
  })

  it('has nothing for IPv4 keys, IPv4-mapped addresses and the shared unknown key', () => {
    for (const key of ['192.0.2.7', rateKeyOf(address('::ffff:192.0.2.7')), 'unknown']) {
      expect(hasWiderNetworks(key)).toBe(false)
      expect(widerBudgetsOf(key, RULE, SHARES)).toEqual([])
    }
  })

  it('keeps the window and scales only the count', () => {
    const [per56, per48] = widerBudgetsOf(
      '2001:db8::/64',
      { limit: 3, windowMs: 3_600_000 },
      { ipv6Per56Factor: 1, ipv6Per48Factor: 65_536 },
    )
    expect(per56?.rule).toEqual({ limit: 3, windowMs: 3_600_000 })
    expect(per48?.rule).toEqual({ limit: 196_608, windowMs: 3_600_000 })
  })
})
