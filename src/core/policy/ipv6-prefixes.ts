/**
 * The wider IPv6 networks a per-client limit is also counted under. A client key of IPv6 is a /64
 * (`rateKeyOf`), and a /48 holds 65 536 of them: one hosting customer or tunnel-broker account would
 * otherwise have 65 536 budgets. Its /56 and /48 are charged too, each with a budget of a few /64s,
 * so one /48 gets a bounded share whatever the number of its /64s. IPv4 keys have no wider network.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6177 (IPv6 assignments: a /48 or /56 per site, a /64 per link)
 */
import { prefixOf, parseCidr } from './network.ts'
import type { RateRule } from './rate-limit.ts'

/** How many /64 budgets a /56 and a /48 get in all (`QRELAY_RATE_IPV6_56_FACTOR`, `QRELAY_RATE_IPV6_48_FACTOR`). */
export interface WiderShares {
  ipv6Per56Factor: number
  ipv6Per48Factor: number
}

/** A wider network a hit is also charged to, with its own rule. */
export interface WiderBudget {
  /** The network as `x:y:z::/56` or `x:y:z::/48` text. */
  network: string
  rule: RateRule
}

/** True when `clientKey` is an IPv6 /64 key, the only kind with wider networks (a cheap test on the text). */
export const hasWiderNetworks = (clientKey: string): boolean => clientKey.endsWith('/64')

/**
 * The /56 and /48 budgets a hit of `clientKey` under `rule` is also charged to: `rule.limit` times the
 * share in the same window. None for an IPv4 key or the shared unknown key.
 *
 * @example
 * widerBudgetsOf('2001:db8:ab00:1::/64', { limit: 30, windowMs: 60_000 }, { ipv6Per56Factor: 2, ipv6Per48Factor: 4 })
 * // [{ network: '2001:db8:ab00::/56', rule: { limit: 60, … } }, { network: '2001:db8:ab00::/48', rule: { limit: 120, … } }]
 */
export const widerBudgetsOf = (clientKey: string, rule: RateRule, shares: WiderShares): WiderBudget[] => {
  if (!hasWiderNetworks(clientKey)) return []
  const parsed = parseCidr(clientKey)
  if (parsed === null || parsed[0].kind() !== 'ipv6') return []
  const [address] = parsed
  return [
    { network: prefixOf(address, 32, 56), rule: { limit: rule.limit * shares.ipv6Per56Factor, windowMs: rule.windowMs } },
    { network: prefixOf(address, 32, 48), rule: { limit: rule.limit * shares.ipv6Per48Factor, windowMs: rule.windowMs } },
  ]
}
