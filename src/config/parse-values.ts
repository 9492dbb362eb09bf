/**
 * The parsers of plain values: numbers, flags, choices, text, CIDR lists and rate rules. Problems
 * read after the variable's name (`QRELAY_PORT must be a whole number, got "abc"`).
 */
import { parseCidr, type Cidr } from '../core/policy/network.ts'
import type { RateRule } from '../core/policy/rate-limit.ts'
import type { Parser } from './knob.ts'

/** A whole number within `min`…`max`. */
export const wholeNumber =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) return { problem: `must be a whole number, got "${raw}"` }
    const n = Number(raw)
    return n < min || n > max ? { problem: `must be between ${min} and ${max}, got ${n}` } : { value: n }
  }

/** `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off`, in any case. */
export const flag: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(v)) return { value: true }
  if (['0', 'false', 'no', 'off'].includes(v)) return { value: false }
  return { problem: `must be true or false, got "${raw}"` }
}

/** One of `values` (trimmed). */
export const oneOf =
  <T extends string>(values: readonly T[]): Parser<T> =>
  (raw) => {
    const value = values.find((candidate) => candidate === raw.trim())
    return value === undefined ? { problem: `must be one of ${values.join(', ')}, got "${raw}"` } : { value }
  }

/** The text as it is. */
export const text: Parser<string> = (raw) => ({ value: raw })

/** The trimmed text; blank: undefined. */
export const optionalText: Parser<string | undefined> = (raw) => ({ value: raw.trim() === '' ? undefined : raw.trim() })

/** The trimmed text lowercased (header names); blank: undefined. */
export const lowercased: Parser<string | undefined> = (raw) => optionalText(raw.toLowerCase())

/** Comma-separated addresses or CIDR ranges; empty entries are skipped. */
export const cidrList: Parser<readonly Cidr[]> = (raw) => {
  const out: Cidr[] = []
  for (const part of raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const cidr = parseCidr(part)
    if (cidr === null) return { problem: `"${part}" is not an IP address or CIDR range` }
    out.push(cidr)
  }
  return { value: out }
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** `30/60s`: at most 30 per sliding 60 seconds. Units: ms, s, m, h. */
export const rateRule: Parser<RateRule> = (raw) => {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*(ms|s|m|h)\s*$/.exec(raw)
  const unitMs = UNIT_MS[m?.[3] ?? '']
  if (!m || unitMs === undefined) return { problem: `must look like 30/60s (count/window with unit ms, s, m or h), got "${raw}"` }
  const limit = Number(m[1])
  const windowMs = Number(m[2]) * unitMs
  if (limit < 1 || windowMs < 1000) return { problem: 'needs a count ≥ 1 and a window ≥ 1s' }
  return { value: { limit, windowMs } }
}

/** A TOTP issuer name: non-empty, no colon (it prefixes the account in the otpauth URI). */
export const totpIssuer: Parser<string> = (raw) =>
  raw.trim() === '' || raw.includes(':') ? { problem: 'must be non-empty and contain no colon' } : { value: raw.trim() }
