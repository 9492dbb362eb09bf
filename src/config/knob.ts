/**
 * The typed building blocks of the configuration: a {@link Knob} is one `QRELAY_*` variable with its
 * default and parser (its doc line is in `knob-docs.ts`), made by the {@link knob} constructors; {@link ConfigOf} infers the
 * configuration's type from a declaration of knobs grouped in sections.
 */
import type { Cidr } from '../core/policy/network.ts'
import type { RateRule } from '../core/policy/rate-limit.ts'
import { cidrList, flag, lowercased, oneOf, optionalText, rateRule, text, wholeNumber } from './parse-values.ts'

/** What a parser makes of a variable's text: its value, or what is wrong with it (after the variable's name). */
type Parsed<T> = { value: T } | { problem: string }

/** Turns a variable's text into a value or a problem. */
export type Parser<T> = (raw: string) => Parsed<T>

/** One setting: its variable, the default as the variable would spell it and its parser (its doc line: `KNOB_DOCS`). */
export interface Knob<T = unknown> {
  readonly env: `QRELAY_${string}`
  /** The text parsed when the variable is absent (the README's Default column); undefined: unset. */
  readonly default: string | undefined
  readonly parse: Parser<T>
  /** The value is a secret (a key, a token, a password): `qrelay config show` masks it. */
  readonly secret: boolean
}

/** Knobs by field name: one section of the configuration. */
export type Section = Readonly<Record<string, Knob<unknown>>>

/** Sections by name: the whole configuration, as knobs. */
export type Declaration = Readonly<Record<string, Section>>

/** The value a knob gives. */
type KnobValue<K> = K extends Knob<infer T> ? T : never

/** The values a section gives, field by field. */
type SectionOf<S extends Section> = { -readonly [F in keyof S]: KnobValue<S[F]> }

/** The configuration a declaration gives, section by section. */
export type ConfigOf<D extends Declaration> = { -readonly [S in keyof D]: SectionOf<D[S]> }

/** `30/60s`: at most 30 per sliding 60 seconds (units ms, s, m, h). */
type RateText = `${number}/${number}${'ms' | 's' | 'm' | 'h'}`

/** What every knob is declared with. */
interface Described {
  env: `QRELAY_${string}`
  /** The value is a secret: never printed (`qrelay config show`). */
  secret?: boolean
}

const make = <T>(described: Described, fallback: string | undefined, parse: Parser<T>): Knob<T> => ({
  env: described.env,
  default: fallback,
  parse,
  secret: described.secret === true,
})

/** A knob of `parse`'s value; without a default it may be unset, so its value may be undefined. */
function custom<T>(options: Described & { default: string; parse: Parser<T> }): Knob<T>
function custom<T>(options: Described & { parse: Parser<T> }): Knob<T | undefined>
function custom<T>(options: Described & { default?: string; parse: Parser<T> }): Knob<T | undefined> {
  return make<T | undefined>(options, options.default, options.parse)
}

/**
 * The knob constructors: each types its default, so a default of the wrong type does not compile.
 *
 * @example
 * const port = knob.int({ env: 'QRELAY_PORT', default: 8080, min: 0, max: 65535 })
 */
export const knob = {
  /** A whole number within `min`…`max` (the unit is in the variable's name). */
  int: (options: Described & { default: number; min: number; max: number }): Knob<number> =>
    make(options, String(options.default), wholeNumber(options.min, options.max)),
  /** `true`/`false` (also 1/0, yes/no, on/off). */
  boolean: (options: Described & { default: boolean }): Knob<boolean> => make(options, String(options.default), flag),
  /** One of `values`, spelled exactly. */
  enum: <const V extends readonly [string, ...string[]]>(
    options: Described & { values: V; default: NoInfer<V[number]> },
  ): Knob<V[number]> => make(options, options.default, oneOf(options.values)),
  /** Any text, taken as it is. */
  string: (options: Described & { default: string }): Knob<string> => make(options, options.default, text),
  /** Text, trimmed (`lowercase`: and lowercased); unset or blank: undefined. */
  optionalString: (options: Described & { lowercase?: boolean }): Knob<string | undefined> =>
    make(options, undefined, options.lowercase === true ? lowercased : optionalText),
  /** Comma-separated IP addresses or CIDR ranges (a bare address is a /32 or /128). */
  cidrList: (options: Described & { default: readonly string[] }): Knob<readonly Cidr[]> =>
    make(options, options.default.join(','), cidrList),
  /** A rate limit, `count/window` with the window's unit. */
  rate: (options: Described & { default: RateText }): Knob<RateRule> => make(options, options.default, rateRule),
  /** A value only `parse` understands (URLs, keys, secrets); `default` is the text parsed when unset. */
  custom,
}
